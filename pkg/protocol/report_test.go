package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestDescribe checks the one report builder: the whole input hashed and
// counted, the head WantHead asks for, whether the size is known or not
// and whatever the read size.
func TestDescribe(t *testing.T) {
	content := strings.Repeat("0123456789", 100)
	sum := sha256.Sum256([]byte(content))
	for _, tc := range []struct {
		name string
		size int64
		req  FileRequest
		buf  []byte
		head int
	}{
		{"under the limit", 1000, FileRequest{Limit: 2000}, nil, 1000},
		{"over the limit", 1000, FileRequest{Limit: 10}, nil, 0},
		{"over the limit, head kept", 1000, FileRequest{Limit: 10, KeepOversizeHead: true}, nil, 10},
		{"unknown size", -1, FileRequest{Limit: 10, KeepOversizeHead: true}, nil, 10},
		{"small reads", 1000, FileRequest{Limit: 2000}, make([]byte, 7), 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Path = "f"
			rep, err := Describe(iotest.HalfReader(strings.NewReader(content)), tc.size, tc.req, tc.buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Found || rep.Path != "f" || rep.Size != 1000 || rep.SHA256 != hex.EncodeToString(sum[:]) || string(rep.Head) != content[:tc.head] {
				t.Errorf("Describe = found %v path %q size %d sha %s head %d bytes; want f, 1000, the digest and %d bytes", rep.Found, rep.Path, rep.Size, rep.SHA256, len(rep.Head), tc.head)
			}
		})
	}
}

// TestDescribeReusesHead checks that the head is kept in the storage
// given when it is large enough, so the reader pod reuses one buffer.
func TestDescribeReusesHead(t *testing.T) {
	storage := make([]byte, 0, 64)
	rep, err := Describe(strings.NewReader("hello"), 5, FileRequest{Limit: 64}, nil, storage)
	if err != nil || string(rep.Head) != "hello" || &rep.Head[0] != &storage[:1][0] {
		t.Errorf("Describe = %q, %v; want hello in the storage given", rep.Head, err)
	}
}

// TestDescribeReadError checks that a failed read is returned with the
// report so far.
func TestDescribeReadError(t *testing.T) {
	boom := errors.New("boom")
	rep, err := Describe(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), -1, FileRequest{Path: "f", Limit: 8}, nil, nil)
	if !errors.Is(err, boom) || !rep.Found || rep.Size != 3 || rep.SHA256 != "" {
		t.Errorf("Describe = %+v, %v; want the error after 3 bytes and no digest", rep, err)
	}
}

// TestDescribeBytesCopiesNothing checks an in-memory report agrees with
// Describe and its head is the content's own storage.
func TestDescribeBytesCopiesNothing(t *testing.T) {
	content := []byte("hello world")
	req := FileRequest{Path: "p", Limit: 5, KeepOversizeHead: true}
	want, err := Describe(bytes.NewReader(content), int64(len(content)), req, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := DescribeBytes(content, req)
	if string(got.Head) != string(want.Head) || got.SHA256 != want.SHA256 || got.Size != want.Size || &got.Head[0] != &content[0] {
		t.Errorf("DescribeBytes = %+v, want %+v with the head in the content's storage", got, want)
	}
	if allocs := testing.AllocsPerRun(10, func() { DescribeBytes(content, req) }); allocs > 2 {
		t.Errorf("DescribeBytes allocates %v times; want only the digest's text", allocs)
	}
}
