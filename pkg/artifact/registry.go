package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// Owner is the run an artifact must name in its annotations before the
// controller publishes or deletes it: a reader's word, or a status, never
// makes it act on another run's artifact, nor on an earlier run's of the
// same name.
type Owner struct {
	Namespace, Run, UID string
}

// Verify checks that uri resolves to f's artifact of owner: a manifest
// with those bytes (go-containerregistry checks the digest of what it
// gets), of our artifact type, annotated with owner and f's result, whose
// one layer is f's digest and size and is in the registry. reuse may
// share a remote.Puller between calls.
func Verify(ctx context.Context, uri string, insecure bool, auth authn.Authenticator, f File, owner Owner, reuse ...remote.Option) error {
	m, repoDigest, opts, err := manifest(ctx, uri, insecure, auth, reuse)
	if err != nil {
		return err
	}
	want := "sha256:" + f.SHA256
	if len(m.Layers) != 1 || m.Layers[0].Digest.String() != want || m.Layers[0].Size != f.Size || m.Annotations[AnnotationResult] != f.Name {
		return fmt.Errorf("%w: %s is not an artifact of result %q (%d bytes, %s)", ErrUnverified, uri, f.Name, f.Size, want)
	}
	if err := owned(uri, m, owner); err != nil {
		return err
	}
	layer, err := remote.Layer(repoDigest(want), opts...)
	if err != nil {
		return err
	}
	size, err := layer.Size()
	if err != nil {
		return unverified(uri, err)
	}
	if size != f.Size {
		return fmt.Errorf("%w: the registry holds %d bytes for layer %s of %s, not %d", ErrUnverified, size, want, uri, f.Size)
	}
	return nil
}

// Delete deletes the artifact at uri once it is seen to be owner's: its
// tag, where the tag still names it (registries that refuse to delete a
// tagged manifest), then its manifest. Its layer goes when the registry's
// own garbage collection finds it unreferenced. An artifact already gone
// is not an error.
func Delete(ctx context.Context, uri string, insecure bool, auth authn.Authenticator, owner Owner) error {
	m, _, _, err := manifest(ctx, uri, insecure, auth, nil)
	if errors.Is(err, ErrUnverified) && NotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := owned(uri, m, owner); err != nil {
		return err
	}
	repoName, digest := resultmaterialize.SplitURI(uri)
	repo, err := Repository(protocol.ExportTarget{Repository: repoName, Insecure: insecure})
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("resultmaterialize-controller")}
	tag := repo.Tag(Tag(m.Annotations[AnnotationResult], protocol.ExportTarget{Annotations: m.Annotations}))
	if desc, err := remote.Head(tag, opts...); err == nil && desc.Digest.String() == digest {
		// A registry that deletes tags with their manifest, or not at
		// all, answers here with what the manifest's delete settles.
		_ = remote.Delete(tag, opts...)
	}
	err = remote.Delete(repo.Digest(digest), opts...)
	if NotFound(err) {
		return nil
	}
	return err
}

// manifest gets the manifest uri names, of our artifact type.
func manifest(ctx context.Context, uri string, insecure bool, auth authn.Authenticator, reuse []remote.Option) (v1.Manifest, func(string) name.Digest, []remote.Option, error) {
	var m v1.Manifest
	repoName, digest := resultmaterialize.SplitURI(uri)
	repo, err := Repository(protocol.ExportTarget{Repository: repoName, Insecure: insecure})
	if err != nil {
		return m, nil, nil, err
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("resultmaterialize-controller")}, reuse...)
	desc, err := remote.Get(repo.Digest(digest), opts...)
	if err != nil {
		return m, nil, nil, unverified(uri, err)
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return m, nil, nil, fmt.Errorf("%w: %s is not an OCI manifest: %w", ErrUnverified, uri, err)
	}
	if m.ArtifactType != ArtifactType {
		return m, nil, nil, fmt.Errorf("%w: %s has artifactType %q, not %q", ErrUnverified, uri, m.ArtifactType, ArtifactType)
	}
	return m, repo.Digest, opts, nil
}

func owned(uri string, m v1.Manifest, owner Owner) error {
	a := m.Annotations
	if ns, run, uid := a[AnnotationNamespace], a[AnnotationRun], a[AnnotationUID]; ns != owner.Namespace || run != owner.Run || uid != owner.UID {
		return fmt.Errorf("%w: %s belongs to run %q (uid %q) in namespace %q, not %q (uid %q) in %q", ErrUnverified, uri, run, uid, ns, owner.Run, owner.UID, owner.Namespace)
	}
	return nil
}

// unverified says an artifact the registry does not have (404), or
// answers with other bytes than its digest, does not resolve as pushed;
// any other error may pass.
func unverified(uri string, err error) error {
	var te *transport.Error
	if NotFound(err) || (!errors.As(err, &te) && strings.Contains(err.Error(), "does not match")) {
		return fmt.Errorf("%w: %s: %w", ErrUnverified, uri, err)
	}
	return err
}
