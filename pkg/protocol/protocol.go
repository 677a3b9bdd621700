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
	"io"
	"strings"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

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
}

// Projection is one field of a JSON or YAML file, computed where the file
// lives. Its report describes the projected value (size, digest, head)
// and carries the file's own size and digest in Source.
type Projection struct {
	// JSONPath is a kubectl JSONPath template.
	JSONPath string `json:"jsonPath,omitempty"`
	// Expression is a CEL expression over the document bound as doc.
	Expression string `json:"expression,omitempty"`
	// Format is json or yaml.
	Format string `json:"format,omitempty"`
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
	// Head holds the first WantHead(Size) bytes.
	Head []byte `json:"head,omitempty"`
	// Error is set when the file exists but cannot be used.
	Error *FileError `json:"error,omitempty"`
	// Source describes the file a projected value was computed from.
	Source *Source `json:"source,omitempty"`
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

// Output is the one JSON document the reader prints.
type Output struct {
	Files []FileReport `json:"files"`
}

// EncodeRequest is the reader's -request argument.
// HTML is not escaped, so "&&" in an expression takes 2 bytes, not 12.
func EncodeRequest(reqs []FileRequest) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(reqs); err != nil {
		return "", fmt.Errorf("encoding the reader request: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// DecodeRequest parses the reader's -request argument strictly.
func DecodeRequest(s string) ([]FileRequest, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var reqs []FileRequest
	if err := dec.Decode(&reqs); err != nil {
		return nil, fmt.Errorf("parsing the reader request: %w", err)
	}
	return reqs, nil
}

// MaxOutputBytes bounds the document a reader prints for reqs: each file's
// head in base64, its digest, its path twice (request echo and error
// message, escaped) and a fixed allowance for field names and messages.
func MaxOutputBytes(reqs []FileRequest) int64 {
	const perFile = 1024
	total := int64(64)
	for _, r := range reqs {
		total += perFile + 2*int64(len(r.Path))*6 + (r.Limit+2)/3*4
		if r.Projection != nil {
			total += perFile + MaxMessage*6
		}
	}
	return total
}

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
		sep = `{"files":[`
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
		end = `{"files":[]}` + "\n"
	}
	if _, err := w.w.WriteString(end); err != nil {
		return err
	}
	return w.w.Flush()
}

// Parse decodes a reader's output strictly: one document, known fields
// only, one report per request in order, at most MaxOutputBytes, and
// every head exactly as long as the request allows, so no value is ever
// surfaced from bytes that are not all there.
func Parse(raw []byte, reqs []FileRequest) ([]FileReport, error) {
	if limit := MaxOutputBytes(reqs); int64(len(raw)) > limit {
		return nil, fmt.Errorf("output is over %d bytes, the most %d requested files can produce", limit, len(reqs))
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
// found, readable file carries exactly WantHead(Size) head bytes.
func Check(req FileRequest, f FileReport) error {
	if f.Path != req.Path {
		return fmt.Errorf("report for %q answers a request for %q", f.Path, req.Path)
	}
	if !f.Found || f.Error != nil {
		return nil
	}
	if f.Size < 0 || int64(len(f.Head)) != req.WantHead(f.Size) {
		return fmt.Errorf("report for %q has %d head bytes for a size of %d and a limit of %d: want %d", f.Path, len(f.Head), f.Size, req.Limit, req.WantHead(f.Size))
	}
	return nil
}
