package projection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/resultmaterialize/controller/pkg/materialize"
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
	var queries []*Query
	var asked []int
	for i, req := range reqs {
		reports[i] = protocol.FileReport{Path: req.Path, Found: true}
		q, err := Compile(*req.Projection)
		if err != nil {
			reports[i].Error = fileError(reasons.InvalidSpec, err.Error())
			continue
		}
		queries, asked = append(queries, q), append(asked, i)
	}
	h := sha256.New()
	counted := &counter{r: io.TeeReader(r, h)}
	var limit int64
	if len(asked) > 0 {
		// One plan gives every request the same limit.
		limit = reqs[asked[0]].Projection.MaxBytes
	}
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
		sum := sha256.Sum256([]byte(value))
		rep.Size, rep.SHA256 = int64(len(value)), hex.EncodeToString(sum[:])
		rep.Head = []byte(value[:reqs[i].WantHead(rep.Size)])
	}
	return reports, nil
}

// fileError bounds a message to protocol.MaxMessage bytes, cut on a rune.
func fileError(reason reasons.Reason, msg string) *protocol.FileError {
	if len(msg) > protocol.MaxMessage {
		msg = string(materialize.TruncateUTF8([]byte(msg), protocol.MaxMessage-3)) + "..."
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
