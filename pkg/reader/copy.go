package reader

import (
	"errors"
	"io"
	"os"

	"github.com/resultmaterialize/controller/pkg/protocol"
)

// Copy writes one file below root to w, opened as Read opens it (a regular
// file, never through a link out of root): kubectl rmat cat's read of a
// result left in a volume. A file it cannot copy is an error saying why.
func Copy(root *os.Root, path string, w io.Writer) error {
	f, _, rep := open(root, protocol.FileReport{Path: path})
	if f == nil {
		if rep.Error != nil {
			return errors.New(rep.Error.Message)
		}
		return errors.New("file " + path + " does not exist in the workspace")
	}
	defer f.Close()
	_, err := io.Copy(w, f)
	return err
}
