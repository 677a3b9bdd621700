package rmat

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// Output formats ls prints.
const (
	OutputTable = ""
	OutputWide  = "wide"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
)

// Print writes the entries in the format: a table (sizes in binary units,
// digests shortened), a wide table (exact bytes, whole digests, the run
// and how it was read), or every field as JSON or YAML.
func Print(w io.Writer, entries []Entry, format string) error {
	switch format {
	case OutputJSON:
		out, err := json.MarshalIndent(list{Items: nonNil(entries)}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", out)
		return err
	case OutputYAML:
		out, err := yaml.Marshal(list{Items: nonNil(entries)})
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	case OutputTable, OutputWide:
	default:
		return fmt.Errorf("output format %q: want json, yaml or wide", format)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	wide := format == OutputWide
	rows := [][]string{{"TASK", "RESULT", "SURFACED", "SIZE", "SHA256", "LOCATION", "EXISTS"}}
	if wide {
		rows = [][]string{{"TASK", "RESULT", "SURFACED", "BYTES", "SHA256", "LOCATION", "EXISTS", "STATE", "CUSTOMRUN", "READ BY"}}
	}
	for _, e := range entries {
		size, digest := "-", "-"
		if e.SHA256 != "" {
			size, digest = human(e.Size), e.SHA256[:min(12, len(e.SHA256))]
			if wide {
				size, digest = fmt.Sprint(e.Size), e.SHA256
			}
		}
		surfaced := e.Surfaced
		if e.State != "Succeeded" && e.Surfaced == "-" {
			surfaced = e.State
		}
		row := []string{e.Task, e.Result, surfaced, size, digest, e.Location, e.Exists}
		if wide {
			row = append(row, e.State, e.Run, orDash(e.ReadBy))
		}
		rows = append(rows, row)
	}
	for _, row := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(row, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// list is the JSON and YAML document: a list, as kubectl prints many
// objects, empty rather than null when there are none.
type list struct {
	Items []Entry `json:"items"`
}

func nonNil(entries []Entry) []Entry {
	if entries == nil {
		return []Entry{}
	}
	return entries
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// human is a byte count in binary units, as kubectl shows quantities.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v >= 100 {
		return fmt.Sprintf("%.0f %ciB", v, "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}
