// Command reader runs in the reader pod: it reads the requested result
// files below -root and prints one JSON document on stdout. It writes to
// stderr, and exits non-zero, only when it cannot produce that document.
//
// kubectl rmat's pod runs it with -hold, to wait while the plugin runs it
// again with -cat through pods/exec, writing one file's bytes to stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reader"
)

func main() {
	rootDir := flag.String("root", "/workspace", "the workspace mount")
	request := flag.String("request", "", "the JSON plan of the results to read")
	cat := flag.String("cat", "", "write this file below -root to stdout instead")
	hold := flag.Duration("hold", 0, "do nothing for this long instead (kubectl rmat's pod)")
	flag.Parse()
	var err error
	switch {
	case *hold > 0:
		time.Sleep(*hold)
	case *cat != "":
		err = withRoot(*rootDir, func(root *os.Root) error { return reader.Copy(root, *cat, os.Stdout) })
	default:
		err = run(*rootDir, *request)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "reader: %v\n", err)
		os.Exit(1)
	}
}

func run(rootDir, request string) error {
	plan, err := materialize.DecodeReaderRequest(request)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if plan.Export != nil && plan.Export.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(plan.Export.Deadline, 0))
		defer cancel()
	}
	exp, err := exporter(ctx, plan.Export)
	if err != nil {
		return err
	}
	return withRoot(rootDir, func(root *os.Root) error { return reader.Stream(root, plan, os.Stdout, exp) })
}

func withRoot(dir string, do func(*os.Root) error) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening the workspace: %w", err)
	}
	defer root.Close()
	return do(root)
}
