package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// StatTimeout bounds each HEAD or LIST of a direct read.
const StatTimeout = 10 * time.Second

// readBuffer is the read size of a streamed object.
const readBuffer = 256 << 10

// entry is what a direct read learned of one result's key.
type entry struct {
	key    string
	object objectstore.Object
}

// read reads every result of the plan from the store, or says why the
// reader pod must.
func (s *ObjectStoreSource) read(ctx context.Context, a Attempt, cfg *config.Config, d direct) (Found, string, error) {
	reqs := a.Plan.Requests()
	reports := make([]protocol.FileReport, len(reqs))
	entries := make([]entry, len(reqs))
	parents := map[string]bool{}
	var need, streamed int64
	for i, req := range reqs {
		reports[i] = protocol.FileReport{Path: req.Path}
		clean, err := resultmaterialize.CleanPath(path.Join(a.Binding.SubPath, req.Path))
		if err != nil {
			reports[i] = protocol.Unreadable(reports[i], err.Error())
			continue
		}
		if why, err := s.parents(ctx, d, clean, parents); why != "" || err != nil {
			return Found{}, why, err
		}
		e := entry{key: d.loc.Key(clean)}
		e.object, err = stat(ctx, d, e.key)
		if err != nil {
			why, err := storeTrouble(d, err)
			return Found{}, why, err
		}
		entries[i] = e
		if e.object.Kind == objectstore.Doubtful {
			return Found{}, fmt.Sprintf("%q: %s", req.Path, e.object.Why), nil
		}
		if e.object.Kind != objectstore.Regular {
			continue
		}
		if req.Projection != nil && e.object.Size > ControllerMaxProjection {
			return Found{}, fmt.Sprintf("%q is %d bytes, above the %d a projection reads in the controller", req.Path, e.object.Size, ControllerMaxProjection), nil
		}
		streamed += e.object.Size
		if req.Projection != nil {
			// Read whole, and its buffer may double while it grows.
			need += 2 * e.object.Size
		} else {
			need += min(req.Limit, e.object.Size)
		}
	}
	switch {
	case streamed > cfg.ObjectStoreMaxBytes:
		return Found{}, fmt.Sprintf("the results' objects add up to %d bytes, above %s (%d)", streamed, config.KeyObjectStoreMaxBytes, cfg.ObjectStoreMaxBytes), nil
	case need > s.Memory.Size():
		return Found{}, fmt.Sprintf("the read would hold %d bytes, above the controller's memory budget of %d", need, s.Memory.Size()), nil
	}
	release, ok := s.Memory.Hold(need)
	if !ok {
		return Found{}, "", outcome.WaitOn(reasons.ControllerMemoryBusy, memoryRecheck,
			"workspace %q waits for %d bytes of the controller's memory budget of %d bytes", a.Binding.Name, need, s.Memory.Size())
	}
	defer release()
	files := map[string][]byte{}
	buf := make([]byte, readBuffer)
	for i, req := range reqs {
		e := entries[i]
		switch {
		case reports[i].Error != nil || e.object.Kind == objectstore.Missing:
		case e.object.Kind == objectstore.Directory:
			reports[i] = protocol.NotRegular(reports[i], "directory")
		case req.Projection != nil:
			volPath := path.Join(a.Binding.SubPath, req.Path)
			if _, done := files[volPath]; done {
				continue
			}
			content, err := s.fetch(ctx, d, e)
			if err != nil {
				why, err := storeTrouble(d, err)
				return Found{}, why, err
			}
			files[volPath] = content
		default:
			rep, err := s.describe(ctx, d, e, req, buf)
			if err != nil {
				why, err := storeTrouble(d, err)
				return Found{}, why, err
			}
			reports[i] = rep
		}
	}
	if err := projectFiles(ctx, s.Memory, 0, a.Binding, reqs, files, reports); err != nil {
		return Found{}, "", err
	}
	return Found{Plan: a.Plan, Reports: reports, ReadBy: ReadByObjectStore}, "", nil
}

// parents checks every directory between the mount's root and a result's
// file once per read: each must be one the mount shows and the reader may
// pass through.
func (s *ObjectStoreSource) parents(ctx context.Context, d direct, clean string, checked map[string]bool) (string, error) {
	dir := path.Dir(clean)
	var chain []string
	for ; dir != "." && dir != "/" && !checked[dir]; dir = path.Dir(dir) {
		chain = append(chain, dir)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		sctx, cancel := context.WithTimeout(ctx, StatTimeout)
		kind, why, err := d.store.Parent(sctx, d.loc.Key(chain[i]))
		cancel()
		if err != nil {
			return storeTrouble(d, err)
		}
		if kind != objectstore.Directory {
			return why, nil
		}
		checked[chain[i]] = true
	}
	return "", nil
}

func stat(ctx context.Context, d direct, key string) (objectstore.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, StatTimeout)
	defer cancel()
	return d.store.Stat(ctx, key)
}

// describe streams one object through the report's digest, keeping its head.
func (s *ObjectStoreSource) describe(ctx context.Context, d direct, e entry, req protocol.FileRequest, buf []byte) (protocol.FileReport, error) {
	body, err := s.open(ctx, d, e)
	if err != nil {
		return protocol.FileReport{}, err
	}
	defer body.Close()
	return protocol.Describe(body, e.object.Size, req, buf, nil)
}

// fetch reads a whole object a projection parses, at most
// ControllerMaxProjection bytes.
func (s *ObjectStoreSource) fetch(ctx context.Context, d direct, e entry) ([]byte, error) {
	body, err := s.open(ctx, d, e)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, ControllerMaxProjection))
}

// stream is an object's body holding one of the controller's streams
// until it is closed.
type stream struct {
	io.ReadCloser
	release func()
}

func (s stream) Close() error {
	defer s.release()
	return s.ReadCloser.Close()
}

// open takes one of the controller's streams, waiting for it no longer
// than the reconcile, and opens the object the HEAD saw.
func (s *ObjectStoreSource) open(ctx context.Context, d direct, e entry) (io.ReadCloser, error) {
	select {
	case s.Streams <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-s.Streams }
	body, err := d.store.Open(ctx, e.key, e.object)
	if err != nil {
		release()
		return nil, err
	}
	return stream{ReadCloser: body, release: release}, nil
}

// storeTrouble sorts a store error: refused credentials fail the attempt
// naming the Secret and the store's code, never a key; anything else (a
// refused or unreachable endpoint, a timeout, an object changed since its
// HEAD) hands the read to the reader pod, saying only the store's code so
// the Event quotes no address.
func storeTrouble(d direct, err error) (string, error) {
	if objectstore.Denied(err) {
		bucket := fmt.Sprintf("bucket %q", d.loc.Bucket)
		if d.bucketFromSecret {
			// A value of the Secret: the run's namespace may not read it.
			bucket = "the bucket it names"
		}
		return "", outcome.Retry(reasons.ObjectStoreCredentialsRefused,
			"the object store refused the credentials of Secret %s for %s: %s", d.secret, bucket, objectstore.Code(err))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the object store did not answer in time", nil
	}
	return "the object store failed the read: " + objectstore.Code(err), nil
}

// maxClients bounds the S3 clients kept: a rotated key makes a new one.
const maxClients = 64

// client is the S3 client kept for the credentials, or a new one.
func (s *ObjectStoreSource) client(creds objectstore.Credentials) *s3.Client {
	if c, ok := s.clients.get(creds); ok {
		return c
	}
	c := creds.Client()
	s.clients.set(creds, c, maxClients)
	return c
}

// maxFailures bounds the runs remembered; a run forgotten tries the store
// once more.
const maxFailures = 1024
