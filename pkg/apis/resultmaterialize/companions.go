package resultmaterialize

import (
	"strconv"
	"strings"
)

// Companion is a result a requested result N also yields, as N+Suffix.
// It holds a function, so it has no deepcopy.
//
// +k8s:deepcopy-gen=false
type Companion struct {
	Suffix string
	Value  func(Row) string
}

// Companion suffixes.
const (
	SuffixSize   = "-size"
	SuffixSHA256 = "-sha256"
	SuffixInline = "-inline"
	SuffixPath   = "-path"
	// SuffixURI is the exported artifact, oci://REGISTRY/REPO@sha256:HEX.
	SuffixURI = "-uri"
	// SuffixArtifactURI and SuffixArtifactDigest are Tekton Chains' type
	// hints: the artifact's repository and its digest, sha256:HEX.
	SuffixArtifactURI    = "-ARTIFACT_URI"
	SuffixArtifactDigest = "-ARTIFACT_DIGEST"
)

// Companions lists the companions every result yields, in the order
// results are emitted.
var Companions = []Companion{
	{SuffixSize, func(r Row) string { return strconv.FormatInt(r.Size, 10) }},
	{SuffixSHA256, func(r Row) string { return r.SHA256 }},
	{SuffixInline, func(r Row) string { return strconv.FormatBool(r.Inline) }},
	{SuffixPath, func(r Row) string { return r.Path }},
}

// RetainCompanions are yielded, after Companions, by a result whose
// retain is oci: empty while its value is inline.
var RetainCompanions = []Companion{
	{SuffixURI, func(r Row) string { return r.URI }},
}

// ProvenanceCompanions are yielded, after RetainCompanions, by a result
// whose retain is oci when provenance is on: Chains records a pair whose
// digest is set.
var ProvenanceCompanions = []Companion{
	{SuffixArtifactURI, func(r Row) string { repo, _ := SplitURI(r.URI); return repo }},
	{SuffixArtifactDigest, func(r Row) string { _, digest := SplitURI(r.URI); return digest }},
}

// AllCompanions lists every companion a result may yield: names collide
// with any of them, whatever the run's retain, so changing it never makes
// a valid spec invalid.
func AllCompanions() []Companion {
	all := append([]Companion(nil), Companions...)
	all = append(all, RetainCompanions...)
	return append(all, ProvenanceCompanions...)
}

// URIScheme begins every exported artifact's URI.
const URIScheme = "oci://"

// ArtifactURI is the URI of the artifact with manifest digest (sha256:HEX)
// in repository (REGISTRY/REPO).
func ArtifactURI(repository, digest string) string {
	return URIScheme + repository + "@" + digest
}

// SplitURI returns an artifact URI's repository and digest, or two empty
// strings for a URI that is not one.
func SplitURI(uri string) (repository, digest string) {
	rest, ok := strings.CutPrefix(uri, URIScheme)
	if !ok {
		return "", ""
	}
	repository, digest, ok = strings.Cut(rest, "@")
	if !ok || repository == "" || !strings.HasPrefix(digest, "sha256:") {
		return "", ""
	}
	return repository, digest
}
