// Package protocol is the wire format between the controller and the
// reader pod: the request the controller passes as an argument, the one
// JSON document the reader prints, the cap on its size, and the strict
// parse. Both binaries import it, so the two sides cannot drift.
package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// MemoryFactor is how many times max-projection-bytes the reader pod's
// memory limit is when its plan has a projection: a whole parse may use
// ten times (pkg/projection's fits), the rest is the Go runtime's
// headroom. The controller sizes the pod by it; the reader's projections
// keep within it.
const MemoryFactor = 12

// FileRequest asks a workspace source for one file.
type FileRequest struct {
	// Path is relative to the workspace root.
	Path string `json:"path"`
	// Limit is how many leading bytes to return; the rest is only hashed.
	Limit int64 `json:"limit"`
	// KeepOversizeHead returns the head of a file larger than Limit too;
	// only truncate needs it, so other oversize content never leaves the
	// workspace.
	KeepOversizeHead bool `json:"keepOversizeHead,omitempty"`
	// Projection asks for one field of the file instead of its bytes.
	Projection *Projection `json:"projection,omitempty"`
	// Export asks for the file to be pushed to the plan's ExportTarget
	// should it end by reference.
	Export bool `json:"export,omitempty"`
}

// Projection is one field of a JSON or YAML file, computed where the file
// lives. Its report describes the projected value (size, digest, head)
// and carries the file's own size and digest in Source.
type Projection struct {
	// JSONPath is a kubectl JSONPath template.
	JSONPath string `json:"jsonPath,omitempty"`
	// Expression is a CEL expression over the document bound as doc.
	Expression string `json:"expression,omitempty"`
	// Format is the document's syntax, resultmaterialize.SyntaxJSON or
	// resultmaterialize.SyntaxYAML.
	Format resultmaterialize.Format `json:"format,omitempty"`
	// Array surfaces the value as a JSON array of strings.
	Array bool `json:"array,omitempty"`
	// MaxBytes bounds a document parsed whole, and any one streamed value.
	MaxBytes int64 `json:"maxBytes"`
}

// WantHead is how many head bytes a report for a file of size must carry:
// min(size, Limit) when the head is surfaced, else none.
func (r FileRequest) WantHead(size int64) int64 {
	if size <= r.Limit || r.KeepOversizeHead {
		return min(size, r.Limit)
	}
	return 0
}

// FileReport is what a workspace source learned of one file.
type FileReport struct {
	// Path echoes the request.
	Path string `json:"path"`
	// Found is false when the file does not exist.
	Found bool `json:"found"`
	// Size is the whole file's size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex digest of the whole file.
	SHA256 string `json:"sha256,omitempty"`
	// Head holds the first WantHead(Size) bytes, unless Withheld.
	Head []byte `json:"head,omitempty"`
	// Withheld says the reader kept the head back: the run cannot keep
	// this value inline within its budget, or fails at an earlier result.
	Withheld bool `json:"withheld,omitempty"`
	// Stored is the stored (JSON-encoded) size of a withheld value: what
	// it would take of the run's inline budget, or more than its
	// threshold for a value that ends by reference.
	Stored int64 `json:"stored,omitempty"`
	// Compact says Head holds an array file's items re-encoded compactly
	// (the value they make), not the file's first bytes.
	Compact bool `json:"compact,omitempty"`
	// Error is set when the file exists but cannot be used.
	Error *FileError `json:"error,omitempty"`
	// Source describes the file a projected value was computed from.
	Source *Source `json:"source,omitempty"`
	// Export is the file's export, when it was asked for and the file
	// ends by reference.
	Export *Export `json:"export,omitempty"`
}

// Source is the file behind a projected value.
type Source struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// MaxMessage bounds a FileError's message, in bytes.
const MaxMessage = 1024

// FileError says precisely why a file could not be read.
type FileError struct {
	// Reason is the run's failure reason should this error end it.
	Reason reasons.Reason `json:"reason"`
	// Message names the path and the cause.
	Message string `json:"message"`
}

// Unreadable marks a file that exists but cannot be used, every source
// alike: ResultUnreadable, with msg naming the path and the cause.
func Unreadable(rep FileReport, msg string) FileReport {
	rep.Found = true
	rep.Error = &FileError{Reason: reasons.ResultUnreadable, Message: msg}
	return rep
}

// NotRegular marks a path that is a kind of file (directory, FIFO...)
// other than a regular one, in the words every source uses.
func NotRegular(rep FileReport, kind string) FileReport {
	return Unreadable(rep, fmt.Sprintf("%q is a %s, not a regular file", rep.Path, kind))
}

// Output is the one JSON document the reader prints.
type Output struct {
	Files []FileReport `json:"files"`
}

// MaxOutputBytes bounds the document a reader prints for reqs under a
// run budget of maxInline bytes: per file, its digest, its path twice
// (request echo and error message, escaped), a fixed allowance for field
// names and numbers, and for a projection its message; and the heads in
// base64. The reader sends heads only for the values the run keeps
// inline (see materialize.Keeper), whose raw bytes exceed their stored
// size by at most 6 each (a truncated value's last escaped rune; a JSON
// array file is sent as its compact value), or else
// the one head that fails the run alone, so heads take at most the larger
// of maxInline plus 6 per file and the largest limit.
func MaxOutputBytes(reqs []FileRequest, maxInline int64) int64 {
	const perFile = 1024
	total := int64(64)
	heads, largest := maxInline, int64(0)
	for _, r := range reqs {
		total += perFile + 2*int64(len(r.Path))*6 + 4
		if r.Projection != nil {
			total += perFile + MaxMessage*6
		}
		if r.Export {
			total += perFile + MaxMessage*6
		}
		heads += 6
		largest = max(largest, r.Limit)
	}
	return total + (max(heads, largest)+2)/3*4
}

// DocumentStart is how every reader document begins: a log that does not
// begin with it was cut (the kubelet rotated it) or is not the reader's.
const DocumentStart = `{"files":[`

// Writer prints the document one report at a time, so the reader holds
// one file's head in memory, not every file's.
type Writer struct {
	w     *bufio.Writer
	enc   *json.Encoder
	count int
}

// NewWriter starts the document on w.
func NewWriter(w io.Writer) *Writer {
	buffered := bufio.NewWriter(w)
	return &Writer{w: buffered, enc: json.NewEncoder(buffered)}
}

// Write appends one report.
func (w *Writer) Write(rep FileReport) error {
	sep := ","
	if w.count == 0 {
		sep = DocumentStart
	}
	w.count++
	if _, err := w.w.WriteString(sep); err != nil {
		return err
	}
	if err := w.enc.Encode(rep); err != nil {
		return fmt.Errorf("encoding the report of %q: %w", rep.Path, err)
	}
	return nil
}

// Close ends the document and flushes it.
func (w *Writer) Close() error {
	end := "]}\n"
	if w.count == 0 {
		end = DocumentStart + "]}\n"
	}
	if _, err := w.w.WriteString(end); err != nil {
		return err
	}
	return w.w.Flush()
}

// ErrCut says the log does not hold the whole document from its start:
// the kubelet rotated it, or something else wrote first.
var ErrCut = errors.New("the log does not begin with the reader's document")

// Parse decodes a reader's output strictly: one document, known fields
// only, one report per request in order, at most MaxOutputBytes, and
// every head exactly as long as the request allows unless withheld, so
// no value is ever surfaced from bytes that are not all there. Output
// whose start is missing fails with ErrCut.
func Parse(raw []byte, reqs []FileRequest, maxInline int64) ([]FileReport, error) {
	if len(raw) > 0 && !bytes.HasPrefix(raw, []byte(DocumentStart[:min(len(raw), len(DocumentStart))])) {
		return nil, fmt.Errorf("%w (%d bytes)", ErrCut, len(raw))
	}
	if limit := MaxOutputBytes(reqs, maxInline); int64(len(raw)) > limit {
		return nil, fmt.Errorf("output is over %d bytes, the most %d requested files can produce within an inline budget of %d bytes", limit, len(reqs), maxInline)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out Output
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("output is not a reader document (%d bytes): %w", len(raw), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("output has data after the reader document")
	}
	if len(out.Files) != len(reqs) {
		return nil, fmt.Errorf("output reports %d files for %d requested", len(out.Files), len(reqs))
	}
	for i, f := range out.Files {
		if err := Check(reqs[i], f); err != nil {
			return nil, err
		}
	}
	return out.Files, nil
}

// Check verifies one report against its request: the same path, and a
// found, readable file carries exactly WantHead(Size) head bytes, or none
// and the stored size of its value when withheld.
func Check(req FileRequest, f FileReport) error {
	if f.Path != req.Path {
		return fmt.Errorf("report for %q answers a request for %q", f.Path, req.Path)
	}
	if err := checkExport(req, f); err != nil {
		return err
	}
	if f.Withheld && (!f.Found || f.Error != nil || len(f.Head) > 0 || f.Stored <= 0) {
		return fmt.Errorf("report for %q withholds its head but is not a found, readable file with no head and a stored size", f.Path)
	}
	if f.Withheld {
		return nil
	}
	if f.Compact && (!f.Found || f.Error != nil || int64(len(f.Head)) > req.Limit) {
		return fmt.Errorf("report for %q has a compacted head of %d bytes for a limit of %d", f.Path, len(f.Head), req.Limit)
	}
	if f.Compact {
		return nil
	}
	if !f.Found || f.Error != nil {
		return nil
	}
	if f.Size < 0 || int64(len(f.Head)) != req.WantHead(f.Size) {
		return fmt.Errorf("report for %q has %d head bytes for a size of %d and a limit of %d: want %d", f.Path, len(f.Head), f.Size, req.Limit, req.WantHead(f.Size))
	}
	return nil
}
