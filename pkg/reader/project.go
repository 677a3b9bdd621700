package reader

import (
	"context"
	"fmt"
	"os"

	"github.com/resultmaterialize/controller/pkg/projection"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// project answers every projection request on the path of reqs[first],
// from first on, reading the file once. It returns the reports by
// request index.
func project(root *os.Root, reqs []protocol.FileRequest, first int) map[int]protocol.FileReport {
	var group []protocol.FileRequest
	var at []int
	for i := first; i < len(reqs); i++ {
		if reqs[i].Projection != nil && reqs[i].Path == reqs[first].Path {
			group, at = append(group, reqs[i]), append(at, i)
		}
	}
	out := make(map[int]protocol.FileReport, len(at))
	answer := func(rep protocol.FileReport) {
		for _, i := range at {
			rep.Path = reqs[i].Path
			out[i] = rep
		}
	}
	f, info, failed := open(root, protocol.FileReport{Path: reqs[first].Path})
	if f == nil {
		answer(failed)
		return out
	}
	defer f.Close()
	reports, err := projection.Reports(context.Background(), f, info.Size(), group)
	if err != nil {
		answer(unreadable(protocol.FileReport{Path: reqs[first].Path}, fmt.Sprintf("reading %q: %v", reqs[first].Path, err)))
		return out
	}
	for k, i := range at {
		out[i] = reports[k]
	}
	return out
}
