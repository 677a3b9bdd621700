package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// Verify checks that uri resolves to f's artifact: a manifest with those
// bytes (go-containerregistry checks the digest of what it gets), of our
// artifact type, whose one layer is f's digest and size and is in the
// registry. A source's word that it pushed is never published unchecked.
func Verify(ctx context.Context, uri string, insecure bool, auth authn.Authenticator, f File) error {
	repoName, digest := resultmaterialize.SplitURI(uri)
	repo, err := Repository(protocol.ExportTarget{Repository: repoName, Insecure: insecure})
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("resultmaterialize-controller")}
	desc, err := remote.Get(repo.Digest(digest), opts...)
	if err != nil {
		return unverified(uri, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return fmt.Errorf("%w: %s is not an OCI manifest: %w", ErrUnverified, uri, err)
	}
	want := "sha256:" + f.SHA256
	if m.ArtifactType != ArtifactType || len(m.Layers) != 1 || m.Layers[0].Digest.String() != want || m.Layers[0].Size != f.Size {
		return fmt.Errorf("%w: %s is not an artifact of %q (%d bytes, %s)", ErrUnverified, uri, f.Path, f.Size, want)
	}
	layer, err := remote.Layer(repo.Digest(want), opts...)
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

// Delete deletes the artifact at uri: its manifest. Its layer goes when
// the registry's own garbage collection finds it unreferenced.
func Delete(ctx context.Context, uri string, insecure bool, auth authn.Authenticator) error {
	repoName, digest := resultmaterialize.SplitURI(uri)
	repo, err := Repository(protocol.ExportTarget{Repository: repoName, Insecure: insecure})
	if err != nil {
		return err
	}
	return remote.Delete(repo.Digest(digest), remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("resultmaterialize-controller"))
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
