package rmat

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"golang.org/x/sync/errgroup"
)

// Registry reads exported artifacts (retain: oci) with the user's docker
// credentials (~/.docker/config.json, or DOCKER_CONFIG).
type Registry struct {
	// Insecure reaches the registry over plain HTTP.
	Insecure bool
}

// registryCheck bounds the look ls takes at one artifact.
const registryCheck = 10 * time.Second

// exists says whether the artifact at uri resolves: yes, gone (the
// registry answers 404), or unknown (it cannot be asked).
func (r Registry) exists(ctx context.Context, uri string) string {
	repoName, digest := resultmaterialize.SplitURI(uri)
	repo, err := artifact.Repository(protocol.ExportTarget{Repository: repoName, Insecure: r.Insecure})
	if err != nil {
		return "unknown"
	}
	ctx, cancel := context.WithTimeout(ctx, registryCheck)
	defer cancel()
	_, err = remote.Head(repo.Digest(digest), remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	switch {
	case err == nil:
		return "yes"
	case artifact.NotFound(err):
		return "gone"
	default:
		return "unknown"
	}
}

// existAll sets Exists of every exported entry, asking the registries
// about each artifact once, eight at a time.
func (r Registry) existAll(ctx context.Context, entries []Entry) {
	var uris []string
	for _, e := range entries {
		if e.uri != "" && !slices.Contains(uris, e.uri) {
			uris = append(uris, e.uri)
		}
	}
	exists := make([]string, len(uris))
	var g errgroup.Group
	g.SetLimit(8)
	for i, uri := range uris {
		g.Go(func() error {
			exists[i] = r.exists(ctx, uri)
			return nil
		})
	}
	_ = g.Wait()
	for i := range entries {
		if j := slices.Index(uris, entries[i].uri); j >= 0 {
			entries[i].Exists = exists[j]
		}
	}
}

// copyLayer writes the artifact's layer, the file whose sha256 is sha.
func (r Registry) copyLayer(ctx context.Context, uri, sha string, w io.Writer) error {
	repoName, _ := resultmaterialize.SplitURI(uri)
	repo, err := artifact.Repository(protocol.ExportTarget{Repository: repoName, Insecure: r.Insecure})
	if err != nil {
		return fmt.Errorf("artifact %s: %w", uri, err)
	}
	layer, err := remote.Layer(repo.Digest("sha256:"+sha), remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return fmt.Errorf("artifact %s: %w", uri, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return fmt.Errorf("artifact %s: %w", uri, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("reading artifact %s: %w", uri, err)
	}
	return nil
}
