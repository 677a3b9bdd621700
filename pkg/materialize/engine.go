package materialize

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// Disposition says how a result was surfaced; it is the reason column of
// the per-result table in status.extraFields.
type Disposition string

const (
	// Inline means the whole value is the result.
	Inline Disposition = "Inline"
	// Reference means the value is larger than its threshold and stays in the
	// workspace; the result holds its path.
	Reference Disposition = "Reference"
	// Truncated means the result holds the first threshold bytes.
	Truncated Disposition = "Truncated"
	// Demoted means the value fit its threshold but was moved to a reference to
	// keep the run within max-inline-total.
	Demoted Disposition = "Demoted"
	// Defaulted means an optional file was missing; the result holds its default.
	Defaulted Disposition = "Defaulted"
)

// Companion suffixes: every result name N also yields N-size, N-sha256,
// N-inline and N-path.
const (
	SuffixSize   = "-size"
	SuffixSHA256 = "-sha256"
	SuffixInline = "-inline"
	SuffixPath   = "-path"
)

// CompanionSuffixes lists the suffixes in the order results are emitted.
var CompanionSuffixes = []string{SuffixSize, SuffixSHA256, SuffixInline, SuffixPath}

// Row is one line of the per-result table.
type Row struct {
	Name   string      `json:"name"`
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
	Inline bool        `json:"inline"`
	Reason Disposition `json:"reason"`
}

// Value is one CustomRun result.
type Value struct {
	Name  string
	Value string
}

// Outcome is what a successful run reports.
type Outcome struct {
	// Values holds each result followed by its companions.
	Values []Value
	// Rows is the per-result table, in request order.
	Rows []Row
}

// Materialize applies the plan to the reports, which must be index-aligned
// with plan.Results. It returns a Failure for the first result, in request
// order, that ends the run.
func Materialize(plan Plan, reports []FileReport) (Outcome, *Failure) {
	if len(reports) != len(plan.Results) {
		return Outcome{}, &Failure{Reason: reasons.ReaderOutputInvalid,
			Message: fmt.Sprintf("workspace source reported %d files for %d requested results", len(reports), len(plan.Results))}
	}
	rows := make([]Row, len(plan.Results))
	values := make([]string, len(plan.Results))
	for i, res := range plan.Results {
		row, value, fail := decide(res, reports[i])
		if fail != nil {
			return Outcome{}, fail
		}
		rows[i], values[i] = row, value
	}
	if fail := applyBudget(plan, rows, values); fail != nil {
		return Outcome{}, fail
	}
	out := Outcome{Rows: rows}
	for i, row := range rows {
		out.Values = append(out.Values,
			Value{row.Name, values[i]},
			Value{row.Name + SuffixSize, strconv.FormatInt(row.Size, 10)},
			Value{row.Name + SuffixSHA256, row.SHA256},
			Value{row.Name + SuffixInline, strconv.FormatBool(row.Inline)},
			Value{row.Name + SuffixPath, row.Path},
		)
	}
	return out, nil
}

func decide(res Result, rep FileReport) (Row, string, *Failure) {
	row := Row{Name: res.Name, Path: res.Path, Size: rep.Size, SHA256: rep.SHA256}
	if rep.Error != nil {
		return row, "", &Failure{Reason: rep.Error.Reason,
			Message: fmt.Sprintf("result %q: %s", res.Name, rep.Error.Message)}
	}
	if !rep.Found {
		if !res.Optional {
			return row, "", &Failure{Reason: reasons.ResultMissing,
				Message: fmt.Sprintf("result %q: file %q does not exist in the workspace; mark the result optional to surface a default instead", res.Name, res.Path)}
		}
		row.Size, row.SHA256, row.Inline, row.Reason = 0, "", true, Defaulted
		return row, res.Default, nil
	}
	if rep.Size <= res.Threshold {
		value, fail := encode(res, rep.Head)
		row.Inline, row.Reason = true, Inline
		return row, value, fail
	}
	switch res.OnOversize {
	case PolicyFail:
		return row, "", &Failure{Reason: reasons.ResultOversize,
			Message: fmt.Sprintf("result %q: file %q is %d bytes, above its threshold of %d bytes (onOversize: fail)", res.Name, res.Path, rep.Size, res.Threshold)}
	case PolicyTruncate:
		head := rep.Head
		if int64(len(head)) > res.Threshold {
			head = head[:res.Threshold]
		}
		if res.Encoding != EncodingBase64 {
			head = TruncateUTF8(head, len(head))
		}
		value, fail := encode(Result{Name: res.Name, Path: res.Path, Encoding: res.Encoding}, head)
		row.Reason = Truncated
		return row, value, fail
	default:
		row.Reason = Reference
		return row, res.Path, nil
	}
}

func encode(res Result, b []byte) (string, *Failure) {
	if res.Encoding == EncodingBase64 {
		return base64.StdEncoding.EncodeToString(b), nil
	}
	if off := invalidUTF8Offset(b); off >= 0 {
		return "", &Failure{Reason: reasons.ResultInvalidUTF8,
			Message: fmt.Sprintf("result %q: file %q is not valid UTF-8 at byte offset %d; set encoding: base64 to surface binary content", res.Name, res.Path, off)}
	}
	s := string(b)
	if res.TrimNewline {
		s = trimOneNewline(s)
	}
	return s, nil
}

func trimOneNewline(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
		if n := len(s); n > 0 && s[n-1] == '\r' {
			s = s[:n-1]
		}
	}
	return s
}

// invalidUTF8Offset returns the offset of the first byte that is not part
// of a valid UTF-8 sequence, or -1.
func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// TruncateUTF8 returns the longest prefix of b of at most n bytes that
// does not end inside a multi-byte UTF-8 sequence. Bytes after n are not
// looked at, so it works on a head that a source already cut. Invalid bytes
// before the cut are kept, so validation still reports them.
func TruncateUTF8(b []byte, n int) []byte {
	if n < 0 {
		n = 0
	}
	if n < len(b) {
		b = b[:n]
	}
	// A rune is at most 4 bytes: its start is among the last 3.
	for s := len(b) - 1; s >= 0 && s >= len(b)-(utf8.UTFMax-1); s-- {
		if utf8.RuneStart(b[s]) {
			if !utf8.FullRune(b[s:]) {
				return b[:s]
			}
			return b
		}
	}
	return b
}
