package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// Describe is the one way a source reports on a file or a projected
// value: it reads r to its end, hashing all of it, and keeps the head
// req wants (WantHead). size is r's length when known, or -1. The head is
// kept in head's storage when it is large enough, so a caller may reuse
// one buffer, once the report is written; buf, when not nil, is the
// scratch space each read fills. A read error is returned with the
// report so far, Found and Path set.
func Describe(r io.Reader, size int64, req FileRequest, buf, head []byte) (FileReport, error) {
	w := describer{h: sha256.New(), limit: req.Limit, head: head[:0]}
	if size >= 0 && int64(cap(w.head)) < min(req.Limit, size) {
		w.head = make([]byte, 0, min(req.Limit, size))
	}
	var err error
	if buf != nil {
		// Hidden behind a plain Reader, r is read into buf, not by its
		// own WriteTo with a buffer of its choosing.
		_, err = io.CopyBuffer(&w, struct{ io.Reader }{r}, buf)
	} else {
		_, err = io.Copy(&w, r)
	}
	rep := FileReport{Path: req.Path, Found: true, Size: w.n}
	if err != nil {
		return rep, err
	}
	rep.SHA256 = hex.EncodeToString(w.h.Sum(nil))
	if n := req.WantHead(rep.Size); n > 0 {
		rep.Head = w.head[:n]
	}
	return rep, nil
}

// describer hashes and counts what it is written, keeping the first
// limit bytes.
type describer struct {
	h     hash.Hash
	n     int64
	limit int64
	head  []byte
}

func (w *describer) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	if keep := w.limit - int64(len(w.head)); keep > 0 {
		w.head = append(w.head, p[:min(int64(len(p)), keep)]...)
	}
	return len(p), nil
}

// DescribeBytes reports on content held in memory as Describe would, with
// the head a slice of content: nothing is copied.
func DescribeBytes(content []byte, req FileRequest) FileReport {
	sum := sha256.Sum256(content)
	rep := FileReport{Path: req.Path, Found: true, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
	if n := req.WantHead(rep.Size); n > 0 {
		rep.Head = content[:n]
	}
	return rep
}
