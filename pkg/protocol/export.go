package protocol

import (
	"fmt"
	"regexp"
)

// ExportTarget is where a run exports the files it keeps by reference
// under retain: oci (pkg/artifact pushes them): a repository, REGISTRY/REPO,
// and the annotations every artifact of the run carries.
type ExportTarget struct {
	Repository  string            `json:"repository"`
	Insecure    bool              `json:"insecure,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Deadline (Unix seconds) ends the reader's pushes, set before its
	// pod's deadline, so it prints its document rather than being killed.
	Deadline int64 `json:"deadline,omitempty"`
}

// Export is what became of one file's export: the artifact's manifest
// digest, or why there is none.
type Export struct {
	// Digest is the manifest's digest, sha256:HEX.
	Digest string `json:"digest,omitempty"`
	// Error says why the file was not exported; its Reason is one of the
	// Export reasons.
	Error *FileError `json:"error,omitempty"`
}

// CredentialsDir is where the reader pod mounts oci-credentials-secret
// from its run's namespace, its .dockerconfigjson as CredentialsFile.
const (
	CredentialsDir  = "/var/run/resultmaterialize/oci"
	CredentialsFile = "config.json"
)

var digestFormat = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// checkExport verifies a report's export against its request: only a
// file asked to be exported has one, and it has a digest or an error.
func checkExport(req FileRequest, f FileReport) error {
	if f.Export == nil {
		return nil
	}
	switch {
	case !req.Export:
		return fmt.Errorf("report for %q has an export that was not requested", f.Path)
	case (f.Export.Digest == "") == (f.Export.Error == nil):
		return fmt.Errorf("report for %q has an export with both or neither of a digest and an error", f.Path)
	case f.Export.Digest != "" && !digestFormat.MatchString(f.Export.Digest):
		return fmt.Errorf("report for %q has an export digest %.80q that is not sha256:HEX", f.Path, f.Export.Digest)
	}
	return nil
}
