package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// Opener opens the file to push, once per upload attempt.
type Opener func() (io.ReadCloser, error)

// Repository parses target's repository, over plain HTTP when the
// target is insecure.
func Repository(target protocol.ExportTarget) (name.Repository, error) {
	var opts []name.Option
	if target.Insecure {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(target.Repository, opts...)
}

// Push exports f as an artifact in target's repository and returns its
// manifest's digest. The layer is streamed from open, hashed on the way
// and refused before its commit when the bytes are not f's, so memory
// stays flat in the file's size; a blob the registry has is not sent
// again (a manifest whose layer the registry lost is so repaired), and the
// manifest is put by digest, then tagged (Tag) when the tag does not name
// it yet: a registry that refuses the tag (immutable tags) still holds the
// artifact by digest.
func Push(ctx context.Context, target protocol.ExportTarget, auth authn.Authenticator, f File, open Opener) (string, error) {
	repo, err := Repository(target)
	if err != nil {
		return "", err
	}
	raw, digest, err := Manifest(f, target)
	if err != nil {
		return "", err
	}
	layerDigest, err := v1.NewHash("sha256:" + f.SHA256)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("resultmaterialize-reader")}
	if err := remote.WriteLayer(repo, static.NewLayer(emptyConfig, ConfigMediaType), opts...); err != nil {
		return "", err
	}
	if err := remote.WriteLayer(repo, &fileLayer{file: f, digest: layerDigest, open: open}, opts...); err != nil {
		return "", err
	}
	if err := remote.Put(repo.Digest(digest.String()), rawManifest(raw), opts...); err != nil {
		return "", err
	}
	tag := repo.Tag(Tag(f.Name, target))
	if desc, err := remote.Head(tag, opts...); err != nil || desc.Digest != digest {
		_ = remote.Put(tag, rawManifest(raw), opts...)
	}
	return digest.String(), nil
}

// Tag is the artifact's tag: the run and result, as far as a tag may
// hold them, and a digest of the namespace, run, its UID and the result,
// so no two results, nor two runs of one name, share one.
func Tag(result string, target protocol.ExportTarget) string {
	a := target.Annotations
	h := sha256.Sum256([]byte(a[AnnotationNamespace] + "/" + a[AnnotationRun] + "/" + a[AnnotationUID] + "/" + result))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, a[AnnotationRun]+"."+result)
	return fmt.Sprintf("%.100s-%s", strings.TrimLeft(name, ".-"), hex.EncodeToString(h[:6]))
}

// rawManifest is a manifest's bytes, put as an OCI image manifest.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// fileLayer is the file as an uncompressed layer whose digest is known
// before it is read.
type fileLayer struct {
	file   File
	digest v1.Hash
	open   Opener
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                 { return l.file.Size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return LayerMediaType, nil }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

// Compressed opens the file checked: reading past its size, or reaching
// its end with other bytes than its digest says, is an error, so the
// upload fails before the registry is asked to commit it.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	return &checked{rc: rc, file: l.file, h: sha256.New()}, nil
}

type checked struct {
	rc   io.ReadCloser
	file File
	h    hash.Hash
	n    int64
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	switch {
	case c.n > c.file.Size:
		return n, fmt.Errorf("%w: %q grew past the %d bytes it had", ErrChanged, c.file.Path, c.file.Size)
	case err == io.EOF && (c.n != c.file.Size || hex.EncodeToString(c.h.Sum(nil)) != c.file.SHA256):
		return n, fmt.Errorf("%w: %q now has %d bytes whose sha256 is not %s", ErrChanged, c.file.Path, c.n, c.file.SHA256)
	}
	return n, err
}

func (c *checked) Close() error { return c.rc.Close() }
