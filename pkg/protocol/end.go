package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// The document's last line. Every report is one line that begins with
// "{" or ",{" (JSON strings hold no raw newline), so a line that is only
// "]}" is the end of the document and nothing else.
var (
	endLine   = []byte("\n]}\n")
	emptyLine = []byte("\n" + DocumentStart + "]}\n")
)

// Ended reads r until the reader's document has ended, in memory
// independent of its size, and reports whether it did before r ran out.
// It tells when a followed log holds a whole document; Parse still
// decides whether that document is right.
func Ended(r io.Reader) (bool, error) {
	in := bufio.NewReader(r)
	tail := make([]byte, 1, len(emptyLine))
	tail[0] = '\n'
	for {
		b, err := in.ReadByte()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if len(tail) == cap(tail) {
			tail = append(tail[:0], tail[1:]...)
		}
		tail = append(tail, b)
		if bytes.HasSuffix(tail, endLine) || bytes.Equal(tail, emptyLine) {
			return true, nil
		}
	}
}
