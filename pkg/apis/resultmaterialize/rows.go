package resultmaterialize

// Disposition says how a result was surfaced; it is the reason column of
// the per-result table in status.extraFields.
type Disposition string

const (
	// Inline means the whole value is the result.
	Inline Disposition = "Inline"
	// Reference means the value is larger than its threshold and stays in the
	// workspace; the result holds its path.
	Reference Disposition = "Reference"
	// Truncated means the result holds the longest prefix within the threshold.
	Truncated Disposition = "Truncated"
	// Demoted means the value fit its threshold but was moved to a reference to
	// keep the run within max-inline-total.
	Demoted Disposition = "Demoted"
	// Defaulted means an optional file was missing; the result holds its default.
	Defaulted Disposition = "Defaulted"
)

// Dispositions lists every disposition.
var Dispositions = []Disposition{Inline, Reference, Truncated, Demoted, Defaulted}

// Row is one line of the per-result table. For a projection, Size and
// SHA256 describe the projected value and Source the file it came from.
type Row struct {
	Name   string      `json:"name"`
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
	Inline bool        `json:"inline"`
	Reason Disposition `json:"reason"`
	Source Source      `json:"source,omitzero"`
	// URI is the exported artifact (ArtifactURI) of a result kept by
	// reference under retain: oci; empty otherwise.
	URI string `json:"uri,omitempty"`
}

// Source is the file a projected value was computed from; zero for a
// result that is not a projection.
type Source struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}
