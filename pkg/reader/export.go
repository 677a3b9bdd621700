package reader

import (
	"fmt"
	"io"
	"os"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// Exporter pushes one file that ends by reference under retain: oci and
// returns its artifact's digest, or why it could not.
type Exporter func(name, path string, size int64, sha256 string, open func() (io.ReadCloser, error)) (string, *protocol.FileError)

// export pushes, with exp, every file the plan exports that ends by
// reference as the engine decides over reports, and records each
// export in its report. A run that fails exports nothing.
func export(root *os.Root, plan materialize.Plan, reports []protocol.FileReport, exp Exporter) {
	reqs := plan.Requests()
	refs, err := materialize.ByReference(plan, reports)
	if err != nil {
		return
	}
	for i, req := range reqs {
		rep := &reports[i]
		if !req.Export || !refs[i] || !rep.Found || rep.Error != nil {
			continue
		}
		open := func() (io.ReadCloser, error) {
			f, _, failed := open(root, protocol.FileReport{Path: req.Path})
			if f == nil {
				return nil, fmt.Errorf("opening %q again: %s", req.Path, failed.Error.Message)
			}
			return f, nil
		}
		digest, ferr := exp(plan.Results[i].Name, req.Path, rep.Size, rep.SHA256, open)
		rep.Export = &protocol.Export{Digest: digest, Error: ferr}
	}
}
