package materialize

import "github.com/resultmaterialize/controller/pkg/reasons"

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
}

// FileReport is what a workspace source learned of one file. The reader pod
// prints these as JSON, so the field names are a wire format.
type FileReport struct {
	// Path echoes the request.
	Path string `json:"path"`
	// Found is false when the file does not exist.
	Found bool `json:"found"`
	// Size is the whole file's size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex digest of the whole file.
	SHA256 string `json:"sha256,omitempty"`
	// Head holds the first min(Size, Limit) bytes.
	Head []byte `json:"head,omitempty"`
	// Error is set when the file exists but cannot be used.
	Error *FileError `json:"error,omitempty"`
}

// FileError says precisely why a file could not be read.
type FileError struct {
	// Reason is the run's failure reason should this error end it.
	Reason reasons.Reason `json:"reason"`
	// Message names the path and the cause.
	Message string `json:"message"`
}

// Failure ends a run: a typed reason and a message naming the thing, the
// value and the limit.
type Failure struct {
	Reason  reasons.Reason
	Message string
}

func (f *Failure) Error() string { return string(f.Reason) + ": " + f.Message }
