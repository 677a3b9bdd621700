package projection

import (
	"context"
	"fmt"
	"io"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// Group is the projection requests of a plan on one file, answered by
// reading and parsing the file once. The reader pod and the ConfigMap
// source both project through it.
type Group struct {
	// Path is the file's path, as its requests name it.
	Path string
	// Requests are the projection requests on the file.
	Requests []protocol.FileRequest
	// At is each request's index in the plan's requests.
	At []int
}

// Groups returns the projection requests of reqs grouped by path, in the
// order of each path's first request.
func Groups(reqs []protocol.FileRequest) []Group {
	var groups []Group
	byPath := map[string]int{}
	for i, req := range reqs {
		if req.Projection == nil {
			continue
		}
		k, ok := byPath[req.Path]
		if !ok {
			k = len(groups)
			byPath[req.Path] = k
			groups = append(groups, Group{Path: req.Path})
		}
		g := &groups[k]
		g.Requests, g.At = append(g.Requests, req), append(g.At, i)
	}
	return groups
}

// Capped returns the group with each request's max-projection-bytes at
// most limit, leaving the requests of g unchanged.
func (g Group) Capped(limit int64) Group {
	capped := Group{Path: g.Path, At: g.At, Requests: make([]protocol.FileRequest, len(g.Requests))}
	for k, req := range g.Requests {
		p := *req.Projection
		p.MaxBytes = min(p.MaxBytes, limit)
		capped.Requests[k] = req
		capped.Requests[k].Projection = &p
	}
	return capped
}

// Answer answers the group from r, the file (size bytes when opened),
// read once, and puts each report at its request's index in reports.
// When the file cannot be read every request fails with
// ResultUnreadable; when a projection panics, every request fails with
// ProjectionEvalFailed instead of the process, which would meet the same
// file again after a restart.
func (g Group) Answer(ctx context.Context, r io.Reader, size int64, reports []protocol.FileReport) {
	defer func() {
		if p := recover(); p != nil {
			// The panic's value is not shown: it can hold the document.
			g.Fail(reports, reasons.ProjectionEvalFailed, fmt.Sprintf("projecting %q failed: the projection library panicked (%T)", g.Path, p))
		}
	}()
	got, err := Reports(ctx, r, size, g.Requests)
	if err != nil {
		g.Fail(reports, reasons.ResultUnreadable, fmt.Sprintf("reading %q: %v", g.Path, err))
		return
	}
	for k, i := range g.At {
		reports[i] = got[k]
	}
}

// Fail fails every request of the group with reason and msg, the file
// found.
func (g Group) Fail(reports []protocol.FileReport, reason reasons.Reason, msg string) {
	for _, i := range g.At {
		reports[i] = protocol.FileReport{Path: g.Path, Found: true, Error: fileError(reason, msg)}
	}
}
