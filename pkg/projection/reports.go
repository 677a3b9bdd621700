package projection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// Reports answers projection requests that share one file, read once
// from r (size bytes when opened): each report describes its projected
// value (size, digest, head within the request's limit) and carries the
// whole file's size and digest in Source. When ctx ends, the projections
// stop and the results not yet computed fail with reason
// ProjectionCostExceeded (see Evaluate); the rest of the file is still
// read, for the digest. Only a failure to read is returned as an error.
func Reports(ctx context.Context, r io.Reader, size int64, reqs []protocol.FileRequest) ([]protocol.FileReport, error) {
	reports := make([]protocol.FileReport, len(reqs))
	for i, req := range reqs {
		reports[i] = protocol.FileReport{Path: req.Path, Found: true}
	}
	g := compileGroup(reqs, func(i int, err error) {
		reports[i].Error = fileError(reasons.InvalidSpec, err.Error())
	})
	queries, asked, limit := g.queries, g.asked, g.limit
	h := sha256.New()
	counted := &counter{r: io.TeeReader(r, h)}
	results, err := Evaluate(ctx, counted, size, queries, limit)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, err
	}
	source := &protocol.Source{Size: counted.n, SHA256: hex.EncodeToString(h.Sum(nil))}
	for k, i := range asked {
		rep := &reports[i]
		rep.Source = source
		if e := results[k].Err; e != nil {
			rep.Error = fileError(e.Reason, e.Message)
			continue
		}
		value := results[k].Value
		described, err := protocol.Describe(strings.NewReader(value), int64(len(value)), reqs[i], nil, nil)
		if err != nil {
			return nil, err
		}
		rep.Size, rep.SHA256, rep.Head = described.Size, described.SHA256, described.Head
	}
	return reports, nil
}

// group is the projection requests on one file that compiled.
type group struct {
	queries []*Query
	// asked is the index of each query's request.
	asked []int
	// limit is max-projection-bytes: one plan gives every request the
	// same.
	limit int64
}

// compileGroup compiles each request's projection, passing the index and
// the error of each that does not compile to failed.
func compileGroup(reqs []protocol.FileRequest, failed func(int, error)) group {
	var g group
	for i, req := range reqs {
		q, err := Compile(*req.Projection)
		if err != nil {
			failed(i, err)
			continue
		}
		g.queries, g.asked = append(g.queries, q), append(g.asked, i)
	}
	if len(g.asked) > 0 {
		g.limit = reqs[g.asked[0]].Projection.MaxBytes
	}
	return g
}

// fileError bounds a message to protocol.MaxMessage bytes, cut on a rune.
func fileError(reason reasons.Reason, msg string) *protocol.FileError {
	if len(msg) > protocol.MaxMessage {
		msg = string(protocol.TruncateUTF8([]byte(msg), protocol.MaxMessage-3)) + "..."
	}
	return &protocol.FileError{Reason: reason, Message: msg}
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
