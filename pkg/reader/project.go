package reader

import (
	"context"
	"os"

	"github.com/resultmaterialize/controller/pkg/projection"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// project answers every projection request of g, opening and reading its
// file once, and puts the reports at their indexes in reports.
func project(root *os.Root, g projection.Group, reports []protocol.FileReport) {
	f, info, failed := open(root, protocol.FileReport{Path: g.Path})
	if f == nil {
		for _, i := range g.At {
			reports[i] = failed
		}
		return
	}
	defer f.Close()
	g.Answer(context.Background(), f, info.Size(), reports)
}
