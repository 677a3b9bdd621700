// Package reader reads result files below a workspace root for the reader
// pod. Every path is opened through os.Root, so "..", absolute paths and
// symlinks can never leave the root, and only regular files are read, so
// a FIFO or device never blocks it. Files are streamed: at most Limit bytes
// are kept, and the whole file is hashed in one pass.
package reader

import (
	"errors"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/projection"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// bufferSize is the read size; large enough that syscalls cost little
// next to hashing.
const bufferSize = 256 << 10

// Stream reports on every result of plan, in order, then prints the
// document. It keeps a head only while the run can still keep its value
// inline (materialize.Keeper), never the head of a value that ends by
// reference, a JSON array file's as its compact value, and after a
// result that fails the run only that result's head, so what it holds
// and prints is bounded by the run's inline budget
// (protocol.MaxOutputBytes), not by the number or size of the files.
// With exp, the files the plan exports are pushed before the document
// is printed.
func Stream(root *os.Root, plan materialize.Plan, w io.Writer, exp Exporter) error {
	reqs := plan.Requests()
	reports := make([]protocol.FileReport, len(reqs))
	costs := make([]int64, len(reqs))
	keep := materialize.NewKeeper(plan.MaxInlineTotal)
	failed := false
	buf := make([]byte, bufferSize)
	var spare []byte
	groups := projection.Groups(reqs)
	withhold := func(j int) {
		if head := withheld(&reports[j], costs[j]); cap(head) > cap(spare) {
			spare = head
		}
	}
	for i, req := range reqs {
		if req.Projection != nil {
			// The first projection on a file answers all of them.
			if len(groups) > 0 && groups[0].At[0] == i {
				project(root, groups[0], reports)
				groups = groups[1:]
			}
		} else {
			reports[i], spare = read(root, req, buf, spare[:0]), nil
		}
		weight, err := materialize.Weigh(plan.Results[i], reports[i])
		costs[i] = weight.Cost
		switch {
		case failed:
			withhold(i)
		case err != nil:
			failed = true
			for j := range i {
				withhold(j)
			}
		case weight.Unused:
			withhold(i)
		case weight.Candidate:
			if materialize.Compacts(plan.Results[i]) && len(weight.Value) < len(reports[i].Head) {
				reports[i].Head, reports[i].Compact = []byte(weight.Value), true
			}
			for _, j := range keep.Offer(i, plan.Results[i].Name, weight.Cost) {
				withhold(j)
			}
		}
	}
	if plan.Export != nil && exp != nil {
		export(root, plan, reports, exp)
	}
	out := protocol.NewWriter(w)
	for _, rep := range reports {
		if err := out.Write(rep); err != nil {
			return err
		}
	}
	return out.Close()
}

// withheld drops the head of a report that has one (the run does not
// keep its value inline, or fails at another result) and returns it, so
// its storage serves the next read.
func withheld(rep *protocol.FileReport, cost int64) []byte {
	head := rep.Head
	if len(head) == 0 || rep.Error != nil {
		return nil
	}
	rep.Head, rep.Withheld, rep.Stored, rep.Compact = nil, true, max(cost, 1), false
	return head
}

// Read reports on one file. buf is scratch space reused across calls.
func Read(root *os.Root, req protocol.FileRequest, buf []byte) protocol.FileReport {
	return read(root, req, buf, nil)
}

// read reports on one file, keeping its head in head's storage when it
// is large enough: a report must be written before head is reused.
func read(root *os.Root, req protocol.FileRequest, buf, head []byte) protocol.FileReport {
	rep := protocol.FileReport{Path: req.Path}
	f, info, failed := open(root, rep)
	if f == nil {
		return failed
	}
	defer f.Close()
	rep, err := protocol.Describe(f, info.Size(), req, buf, head)
	if err != nil {
		return protocol.Unreadable(rep, fmt.Sprintf("reading %q: %v", req.Path, errors.Unwrap(err)))
	}
	return rep
}

// open opens a regular file below root; when it cannot, it returns nil
// and the report saying why (not found, or unreadable).
func open(root *os.Root, rep protocol.FileReport) (*os.File, os.FileInfo, protocol.FileReport) {
	clean, err := resultmaterialize.CleanPath(rep.Path)
	if err != nil {
		return nil, nil, protocol.Unreadable(rep, err.Error())
	}
	info, err := root.Stat(clean)
	if err != nil {
		return nil, nil, statError(rep, err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, notRegular(rep, info.Mode())
	}
	// O_NONBLOCK: if the file was swapped for a FIFO since Stat, opening
	// it still does not wait for a writer.
	f, err := root.OpenFile(clean, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, statError(rep, err)
	}
	if info, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, statError(rep, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(rep, info.Mode())
	}
	return f, info, rep
}

func statError(rep protocol.FileReport, err error) protocol.FileReport {
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return rep
	case errors.Is(err, fs.ErrPermission):
		return protocol.Unreadable(rep, fmt.Sprintf("%q: permission denied for the reader (uid %d): make the file world-readable", rep.Path, os.Getuid()))
	case errors.Is(err, syscall.ELOOP):
		return protocol.Unreadable(rep, fmt.Sprintf("%q: too many levels of symbolic links", rep.Path))
	case errors.Is(err, syscall.ENXIO):
		return protocol.Unreadable(rep, fmt.Sprintf("%q is a socket or device, not a regular file", rep.Path))
	case strings.Contains(cause.Error(), "escapes"):
		return protocol.Unreadable(rep, fmt.Sprintf("%q escapes the workspace through a symbolic link", rep.Path))
	default:
		return protocol.Unreadable(rep, fmt.Sprintf("%q: %v", rep.Path, cause))
	}
}

func notRegular(rep protocol.FileReport, mode fs.FileMode) protocol.FileReport {
	kind := "special file"
	switch {
	case mode.IsDir():
		kind = "directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "FIFO"
	case mode&fs.ModeSocket != 0:
		kind = "socket"
	case mode&fs.ModeDevice != 0:
		kind = "device"
	}
	return protocol.NotRegular(rep, kind)
}
