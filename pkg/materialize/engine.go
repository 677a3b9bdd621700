package materialize

import (
	"encoding/base64"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"unicode/utf8"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

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
	Rows []resultmaterialize.Row
}

// Materialize applies the plan to the reports, which must be index-aligned
// with plan.Results. It returns an *outcome.Outcome for the first result,
// in request order, that ends the run or the attempt.
func Materialize(plan Plan, reports []protocol.FileReport) (Outcome, error) {
	rows, values, err := decideAll(plan, reports)
	if err != nil {
		return Outcome{}, err
	}
	for i, res := range plan.Results {
		if err := checkType(res, values[i]); err != nil {
			return Outcome{}, err
		}
	}
	if err := exported(plan, reports, rows); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Rows: rows}
	for i, row := range rows {
		out.Values = append(out.Values, Value{row.Name, values[i]})
		for _, c := range companions(plan.Results[i]) {
			out.Values = append(out.Values, Value{row.Name + c.Suffix, c.Value(row)})
		}
	}
	return out, nil
}

// ByReference says which results end by reference, as Materialize
// decides, or the error that fails the run, for a source that exports
// them before the controller sees its reports: a run that fails exports
// nothing. Defaults count as DefaultCost; their types were checked by the
// API.
func ByReference(plan Plan, reports []protocol.FileReport) ([]bool, error) {
	rows, values, err := decideAll(plan, reports)
	if err != nil {
		return nil, err
	}
	for i, res := range plan.Results {
		// A default is checked by the API; the reader does not carry it.
		if rows[i].Reason == resultmaterialize.Defaulted {
			continue
		}
		if err := checkType(res, values[i]); err != nil {
			return nil, err
		}
	}
	refs := make([]bool, len(rows))
	for i, row := range rows {
		refs[i] = row.Reason == resultmaterialize.Reference || row.Reason == resultmaterialize.Demoted
	}
	return refs, nil
}

// decideAll decides every result's row and value, the inline budget
// applied.
func decideAll(plan Plan, reports []protocol.FileReport) ([]resultmaterialize.Row, []string, error) {
	if len(reports) != len(plan.Results) {
		return nil, nil, outcome.Retry(reasons.ReaderOutputInvalid,
			"workspace source reported %d files for %d requested results", len(reports), len(plan.Results))
	}
	reqs := plan.Requests()
	rows := make([]resultmaterialize.Row, len(plan.Results))
	values := make([]string, len(plan.Results))
	costs := make([]int64, len(plan.Results))
	for i, res := range plan.Results {
		rep := reports[i]
		if err := protocol.Check(reqs[i], rep); err != nil {
			return nil, nil, outcome.Retry(reasons.ReaderOutputInvalid, "result %q: %v", res.Name, err)
		}
		if rep.Compact && !Compacts(res) {
			return nil, nil, outcome.Retry(reasons.ReaderOutputInvalid, "result %q: the reader sent a compacted head for a result that is not a JSON array file", res.Name)
		}
		if rep.Withheld {
			rows[i], costs[i] = baseRow(res, rep), rep.Stored
			rows[i].Inline, rows[i].Reason = true, resultmaterialize.Inline
			if rep.Stored > res.Threshold {
				if res.Oversize().Oversize != resultmaterialize.BecomesReference {
					return nil, nil, outcome.Retry(reasons.ReaderOutputInvalid, "result %q: the reader withheld the head of a value over its threshold that only a reference can do without", res.Name)
				}
				rows[i].Inline, rows[i].Reason, values[i] = false, resultmaterialize.Reference, res.Path
			}
			continue
		}
		row, value, err := decide(res, rep)
		if err != nil {
			return nil, nil, err
		}
		rows[i], values[i] = row, value
		switch row.Reason {
		case resultmaterialize.Inline, resultmaterialize.Truncated:
			costs[i] = JSONLen(value)
		case resultmaterialize.Defaulted:
			costs[i] = res.defaultCost()
		}
	}
	if err := applyBudget(plan, rows, values, costs); err != nil {
		return nil, nil, err
	}
	for i, rep := range reports {
		if rep.Withheld && rows[i].Reason != resultmaterialize.Demoted && rows[i].Reason != resultmaterialize.Reference {
			return nil, nil, outcome.Retry(reasons.ReaderOutputInvalid,
				"result %q: the reader withheld its value (%d bytes as stored JSON), which the run keeps inline within max-inline-total of %d bytes", rows[i].Name, rep.Stored, plan.MaxInlineTotal)
		}
	}
	return rows, values, nil
}

// baseRow is res's row before anything is decided: the file's (or the
// projected value's) size and digest.
func baseRow(res Result, rep protocol.FileReport) resultmaterialize.Row {
	row := resultmaterialize.Row{Name: res.Name, Path: res.Path, Size: rep.Size, SHA256: rep.SHA256}
	if rep.Source != nil {
		row.Source = resultmaterialize.Source{Path: res.Path, Size: rep.Source.Size, SHA256: rep.Source.SHA256}
	}
	return row
}

func decide(res Result, rep protocol.FileReport) (resultmaterialize.Row, string, error) {
	row := baseRow(res, rep)
	if rep.Error != nil && res.Projected() && rep.Error.Reason != reasons.ResultUnreadable {
		if rep.Error.Reason == reasons.ProjectionNoMatch && res.Optional {
			row.Size, row.SHA256, row.Inline, row.Reason = 0, "", true, resultmaterialize.Defaulted
			return row, res.Default, nil
		}
		return row, "", outcome.Fail(rep.Error.Reason, "result %q: file %q, %s: %s", res.Name, res.Path, res.query(), rep.Error.Message)
	}
	if rep.Error != nil {
		return row, "", outcome.Fail(rep.Error.Reason, "result %q: %s", res.Name, rep.Error.Message)
	}
	if !rep.Found {
		if !res.Optional {
			return row, "", outcome.Fail(reasons.ResultMissing,
				"result %q: file %q does not exist in the workspace; mark the result optional to surface a default instead", res.Name, res.Path)
		}
		row.Size, row.SHA256, row.Inline, row.Reason = 0, "", true, resultmaterialize.Defaulted
		return row, res.Default, nil
	}
	stored := int64(-1)
	if rep.Size <= res.Threshold {
		value, err := encode(res, rep.Head)
		if err != nil {
			return row, "", err
		}
		if stored = JSONLen(value); stored <= res.Threshold {
			row.Inline, row.Reason = true, resultmaterialize.Inline
			return row, value, nil
		}
	}
	if res.Projected() {
		return oversizeProjection(res, rep, row, stored)
	}
	size := fmt.Sprintf("%d bytes", rep.Size)
	if stored >= 0 {
		size = fmt.Sprintf("%d bytes as stored JSON (%d in the file)", stored, rep.Size)
	}
	over := res.Oversize().Oversize
	if over == resultmaterialize.BecomesFailure && res.Type == resultmaterialize.TypeArray {
		return row, "", outcome.Fail(reasons.ResultOversize,
			"result %q: file %q is %s, above its threshold of %d bytes; an array result is surfaced whole or not at all: raise its threshold", res.Name, res.Path, size, res.Threshold)
	}
	switch over {
	case resultmaterialize.BecomesFailure:
		return row, "", outcome.Fail(reasons.ResultOversize,
			"result %q: file %q is %s, above its threshold of %d bytes (onOversize: fail)", res.Name, res.Path, size, res.Threshold)
	case resultmaterialize.BecomesTruncated:
		value, err := truncate(res, rep.Head)
		row.Reason = resultmaterialize.Truncated
		return row, value, err
	case resultmaterialize.BecomesReference:
		row.Reason = resultmaterialize.Reference
		return row, res.Path, nil
	default:
		return row, "", outcome.Fail(reasons.InvalidSpec, "result %q: onOversize %q is not one of %q", res.Name, res.OnOversize, resultmaterialize.Policies)
	}
}

// oversizeProjection applies the policy to a projected value above its
// threshold. The value exists only in the report, so there is no file to
// reference: reference fails like fail, naming the size and the limit.
func oversizeProjection(res Result, rep protocol.FileReport, row resultmaterialize.Row, stored int64) (resultmaterialize.Row, string, error) {
	size := fmt.Sprintf("%d bytes", rep.Size)
	if stored >= 0 {
		size = fmt.Sprintf("%d bytes as stored JSON", stored)
	}
	switch {
	case res.Oversize().Oversize == resultmaterialize.BecomesTruncated:
		value, err := truncate(res, rep.Head)
		row.Reason = resultmaterialize.Truncated
		return row, value, err
	case res.Type == resultmaterialize.TypeArray:
		return row, "", outcome.Fail(reasons.ResultOversize,
			"result %q: the %s of file %q gives %s, above its threshold of %d bytes; an array result is surfaced whole or not at all: raise its threshold or select less", res.Name, res.query(), res.Path, size, res.Threshold)
	default:
		return row, "", outcome.Fail(reasons.ResultOversize,
			"result %q: the %s of file %q gives %s, above its threshold of %d bytes (onOversize: %s); a projected value has no file of its own to reference: raise the threshold, select less, or set onOversize: truncate", res.Name, res.query(), res.Path, size, res.Threshold, res.OnOversize)
	}
}

// truncate returns the longest prefix of head whose stored value is within
// the threshold: whole base64 quanta, or text cut on a rune boundary.
func truncate(res Result, head []byte) (string, error) {
	switch res.Encoding {
	case resultmaterialize.EncodingBase64:
		n := min(int64(len(head)), res.Threshold/4*3)
		return base64.StdEncoding.EncodeToString(head[:n]), nil
	case resultmaterialize.EncodingText:
		return encode(Result{Name: res.Name, Path: res.Path, Encoding: resultmaterialize.EncodingText}, prefixWithin(head, res.Threshold))
	default:
		return "", badEncoding(res)
	}
}

func encode(res Result, b []byte) (string, error) {
	switch res.Encoding {
	case resultmaterialize.EncodingBase64:
		return base64.StdEncoding.EncodeToString(b), nil
	case resultmaterialize.EncodingText:
	default:
		return "", badEncoding(res)
	}
	if off := invalidUTF8Offset(b); off >= 0 {
		return "", outcome.Fail(reasons.ResultInvalidUTF8,
			"result %q: file %q is not valid UTF-8 at byte offset %d; set encoding: base64 to surface binary content", res.Name, res.Path, off)
	}
	s := string(b)
	if res.Type == resultmaterialize.TypeArray && res.Projected() {
		return projectedArray(res, s)
	}
	if res.Type == resultmaterialize.TypeArray {
		return arrayValue(res, s)
	}
	if res.TrimNewline {
		s = trimOneNewline(s)
	}
	return s, nil
}

func badEncoding(res Result) error {
	return outcome.Fail(reasons.InvalidSpec, "result %q: encoding %q is not one of %q", res.Name, res.Encoding, resultmaterialize.Encodings)
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
