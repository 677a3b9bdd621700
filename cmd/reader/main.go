// Command reader runs in the reader pod: it reads the requested result
// files below -root and prints one JSON document on stdout. It writes to
// stderr, and exits non-zero, only when it cannot produce that document.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reader"
)

func main() {
	rootDir := flag.String("root", "/workspace", "the workspace mount")
	request := flag.String("request", "", "the JSON plan of the results to read")
	flag.Parse()
	if err := run(*rootDir, *request); err != nil {
		fmt.Fprintf(os.Stderr, "reader: %v\n", err)
		os.Exit(1)
	}
}

func run(rootDir, request string) error {
	plan, err := materialize.DecodeReaderRequest(request)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return fmt.Errorf("opening the workspace: %w", err)
	}
	defer root.Close()
	return reader.Stream(root, plan, os.Stdout)
}
