// Command reader runs in the reader pod: it reads the requested result
// files below -root and prints one JSON document on stdout. It writes to
// stderr, and exits non-zero, only when it cannot produce that document.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reader"
)

func main() {
	rootDir := flag.String("root", "/workspace", "the workspace mount")
	request := flag.String("request", "", "the JSON list of files to read")
	flag.Parse()
	if err := run(*rootDir, *request); err != nil {
		fmt.Fprintf(os.Stderr, "reader: %v\n", err)
		os.Exit(1)
	}
}

func run(rootDir, request string) error {
	var reqs []materialize.FileRequest
	if err := json.Unmarshal([]byte(request), &reqs); err != nil {
		return fmt.Errorf("parsing -request: %w", err)
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return fmt.Errorf("opening the workspace: %w", err)
	}
	defer root.Close()
	return json.NewEncoder(os.Stdout).Encode(reader.ReadAll(root, reqs))
}
