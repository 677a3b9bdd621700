// Package artifact exports a result file as a one-layer OCI artifact and
// finds it again: the format (media types and annotations of our own,
// the layer uncompressed so its digest is the file's sha256), the push
// the reader pod makes, and the verification and deletion the controller
// makes. It uses go-containerregistry's remote client.
package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// Media types of the artifact: the manifest's artifactType, the layer
// holding the file's bytes as they are, and the OCI empty config.
const (
	ArtifactType    = "application/vnd.resultmaterialize.result.v1"
	LayerMediaType  = types.MediaType("application/vnd.resultmaterialize.result.layer.v1")
	ConfigMediaType = types.MediaType("application/vnd.oci.empty.v1+json")
)

// Annotation keys. The manifest carries the result's name and size and
// the target's annotations (run, its UID, PipelineRun, task, namespace);
// the layer carries the file's name as OCI's title.
const (
	AnnotationResult      = "dev.resultmaterialize.result"
	AnnotationSize        = "dev.resultmaterialize.size"
	AnnotationRun         = "dev.resultmaterialize.run"
	AnnotationPipelineRun = "dev.resultmaterialize.pipelinerun"
	AnnotationTask        = "dev.resultmaterialize.task"
	AnnotationNamespace   = "dev.resultmaterialize.namespace"
	AnnotationUID         = "dev.resultmaterialize.uid"
	AnnotationTitle       = "org.opencontainers.image.title"
)

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// File is one result file to export.
type File struct {
	// Name is the result's name.
	Name string
	// Path is the file's path in the workspace.
	Path string
	// Size and SHA256 (hex) describe the whole file.
	Size   int64
	SHA256 string
}

// Manifest is the artifact's manifest for f under target, and its digest:
// the same file, result and run always give the same bytes.
func Manifest(f File, target protocol.ExportTarget) ([]byte, v1.Hash, error) {
	layer, err := v1.NewHash("sha256:" + f.SHA256)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("the digest of %q: %w", f.Path, err)
	}
	annotations := maps.Clone(target.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationResult] = f.Name
	annotations[AnnotationSize] = fmt.Sprint(f.Size)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        v1.Descriptor{MediaType: ConfigMediaType, Size: int64(len(emptyConfig)), Digest: digestOf(emptyConfig), Data: emptyConfig},
		Layers: []v1.Descriptor{{MediaType: LayerMediaType, Size: f.Size, Digest: layer,
			Annotations: map[string]string{AnnotationTitle: path.Base(f.Path)}}},
		Annotations: annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	return raw, digestOf(raw), nil
}

func digestOf(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}
