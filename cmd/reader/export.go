package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reader"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// exporter pushes to target with the credentials mounted at
// protocol.CredentialsDir, anonymously when there are none.
func exporter(ctx context.Context, target *protocol.ExportTarget) (reader.Exporter, error) {
	if target == nil {
		return nil, nil
	}
	raw, err := os.ReadFile(filepath.Join(protocol.CredentialsDir, protocol.CredentialsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the registry credentials: %w", err)
	}
	creds, credsErr := artifact.ParseCredentials(raw)
	repo, repoErr := artifact.Repository(*target)
	return func(name, path string, size int64, sha256 string, open func() (io.ReadCloser, error)) (string, *protocol.FileError) {
		switch {
		case credsErr != nil:
			return "", &protocol.FileError{Reason: reasons.ExportRefused, Message: fmt.Sprintf("the registry credentials of oci-credentials-secret: %v", credsErr)}
		case repoErr != nil:
			return "", &protocol.FileError{Reason: reasons.ExportRefused, Message: fmt.Sprintf("repository %q: %v", target.Repository, repoErr)}
		}
		f := artifact.File{Name: name, Path: path, Size: size, SHA256: sha256}
		digest, err := artifact.Push(ctx, *target, creds.For(repo), f, open)
		if err != nil {
			return "", artifact.Failure(target.Repository, err)
		}
		return digest, nil
	}, nil
}
