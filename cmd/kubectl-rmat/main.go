// Command kubectl-rmat is the kubectl rmat plugin (and, installed as
// tkn-rmat, the tkn rmat plugin): it shows what ResultMaterialize runs
// produced. It takes kubectl's kubeconfig, context and namespace flags.
//
// Exit codes: 0 done; 1 any error, named on stderr; 3 cat or cp wrote bytes
// whose sha256 is not the one the run published; 130 interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/resultmaterialize/controller/pkg/rmat"
	"github.com/spf13/cobra"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

func main() {
	os.Exit(run())
}

// run runs the command line and returns the exit code. Ctrl-C, SIGTERM
// and SIGHUP cancel the context, and a closed stdout (cat | head) makes
// writes fail instead of killing the process, so a reader pod is always
// deleted on the way out.
func run() int {
	// client-go logs the errors it handles itself (a closed stdout, the
	// stream torn down after it) through klog: the plugin reports its own.
	klog.SetLogger(logr.Discard())
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	err := root(filepath.Base(os.Args[0])).ExecuteContext(ctx)
	if err != nil && !errors.Is(err, syscall.EPIPE) {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	switch {
	case errors.Is(err, syscall.EPIPE):
		// The reader of stdout went away (cat | head): nothing to report.
		return 0
	case errors.Is(err, rmat.ErrMismatch):
		return 3
	case err != nil && ctx.Err() != nil:
		return 130
	case err != nil:
		return 1
	}
	return 0
}

// root is the command tree. binary is the name it runs under: kubectl-rmat
// shows as "kubectl rmat" and tkn-rmat as "tkn rmat" in help and
// completion, as cobra does for plugins.
func root(binary string) *cobra.Command {
	binary = strings.TrimSuffix(binary, ".exe")
	flags := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		Use:           binary,
		Short:         "See the results ResultMaterialize runs produced",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: strings.Replace(binary, "-", " ", 1)},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(cmd.PersistentFlags())
	cmd.PersistentFlags().Bool("registry-insecure", false, "reach the registry of exported results (retain: oci) over plain HTTP")
	cmd.AddCommand(ls(flags), cat(flags), cp(flags))
	return cmd
}

func cat(flags *genericclioptions.ConfigFlags) *cobra.Command {
	f := rmat.Fetch{}
	cmd := &cobra.Command{
		Use:   "cat (PIPELINERUN | pipelinerun/NAME | customrun/NAME) TASK.RESULT",
		Short: "Write a result's bytes to stdout, checked against the sha256 the run published",
		Long: `Write a result's bytes to stdout, checked against the sha256 the run published.
An inline value comes from the run's status, a ConfigMap's through the API,
an exported result (retain: oci) from its artifact in the registry, with
your docker credentials, and a file left in a claim through a short-lived
reader pod like the controller's, read through pods/exec and deleted
afterwards (Ctrl-C too).
Bytes whose digest differs were still written: the exit code is then 3.
From 16 MiB, a progress line goes to stderr when it is a terminal.`,
		Example:           `  kubectl rmat cat my-pipeline-run materialize.model > model.bin`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeRuns(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := load(cmd, flags, args[0])
			if err != nil {
				return err
			}
			f.REST = l.rest
			e, err := rmat.Find(l.entries, args[1])
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			if e.Size >= rmat.ProgressFrom && term.IsTerminal(int(os.Stderr.Fd())) && !term.IsTerminal(int(os.Stdout.Fd())) {
				var done func()
				out, done = rmat.Progress(out, os.Stderr, e.Task+"."+e.Result, e.Size)
				defer done()
			}
			for i := range l.runs {
				if l.runs[i].Name == e.Run {
					return rmat.Cat(cmd.Context(), l.clients, f, &l.runs[i], e, out)
				}
			}
			return fmt.Errorf("customrun %q is gone", e.Run)
		},
	}
	fetchFlags(cmd, &f)
	return cmd
}

func cp(flags *genericclioptions.ConfigFlags) *cobra.Command {
	f := rmat.Fetch{}
	var task, result string
	cmd := &cobra.Command{
		Use:   "cp (PIPELINERUN | pipelinerun/NAME | customrun/NAME) DIR",
		Short: "Copy every result to DIR/TASK/RESULT, checked as cat checks it, with DIR/manifest.json",
		Long: `Copy every result of the run's succeeded ResultMaterialize tasks to
DIR/TASK/RESULT, each checked against the sha256 its run published, and
write DIR/manifest.json listing each (task, result, file, size, sha256,
where it was read from, verified). One reader pod per run reads its
claim's files. A changed file is still written and listed as not
verified, and the exit code is then 3.`,
		Example:           `  kubectl rmat cp my-pipeline-run ./results --task materialize`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeRuns(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := load(cmd, flags, args[0])
			if err != nil {
				return err
			}
			f.REST = l.rest
			m, err := rmat.CopyAll(cmd.Context(), l.clients, f, l.runs, l.entries, args[1], task, result)
			if err == nil || errors.Is(err, rmat.ErrMismatch) {
				_, werr := fmt.Fprintf(cmd.ErrOrStderr(), "%d results written to %s\n", len(m.Results), args[1])
				err = errors.Join(err, werr)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "copy only this pipeline task's results")
	cmd.Flags().StringVar(&result, "result", "", "copy only results of this name")
	fetchFlags(cmd, &f)
	return cmd
}

func fetchFlags(cmd *cobra.Command, f *rmat.Fetch) {
	cmd.Flags().StringVar(&f.ControllerNamespace, "controller-namespace", "resultmaterialize", "where config-materialize and the controller are")
	cmd.Flags().StringVar(&f.ReaderImage, "reader-image", "", "the reader image; by default the controller's")
	cmd.Flags().DurationVar(&f.Hold, "pod-timeout", 10*time.Minute, "the longest the reader pod lives (at least 10s)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if f.Hold < 10*time.Second {
			return fmt.Errorf("--pod-timeout %s: want at least 10s", f.Hold)
		}
		f.Warn = cmd.ErrOrStderr()
		return nil
	}
}

func ls(flags *genericclioptions.ConfigFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls (PIPELINERUN | pipelinerun/NAME | customrun/NAME)",
		Short: "List every materialized result of a PipelineRun's ResultMaterialize tasks, or of one CustomRun",
		Example: `  kubectl rmat ls my-pipeline-run
  kubectl rmat ls customrun/my-pipeline-run-materialize -o wide`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRuns(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := load(cmd, flags, args[0])
			if err != nil {
				return err
			}
			if len(l.runs) == 0 && (output == rmat.OutputTable || output == rmat.OutputWide) {
				// As kubectl get says it: on stderr, so a pipe sees nothing.
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "No ResultMaterialize runs for %s in namespace %s.\n", args[0], l.ns)
				return err
			}
			return rmat.Print(cmd.OutOrStdout(), l.entries, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml or wide")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{rmat.OutputJSON, rmat.OutputYAML, rmat.OutputWide}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// completeRuns offers the namespace's PipelineRuns, and its
// ResultMaterialize CustomRuns as customrun/NAME.
func completeRuns(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, ns, _, err := clients(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		names, err := rmat.Names(cmd.Context(), c, ns)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// loaded is what every command starts from: the clients, the namespace
// and the runs a name stands for, with their results.
type loaded struct {
	clients rmat.Clients
	ns      string
	rest    *rest.Config
	runs    []v1beta1.CustomRun
	entries []rmat.Entry
}

func load(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, name string) (loaded, error) {
	c, ns, cfg, err := clients(flags)
	if err != nil {
		return loaded{}, err
	}
	if c.Registry.Insecure, err = cmd.Flags().GetBool("registry-insecure"); err != nil {
		return loaded{}, err
	}
	runs, err := rmat.Runs(cmd.Context(), c, ns, name)
	if err != nil {
		return loaded{}, err
	}
	entries, err := rmat.List(cmd.Context(), c, runs)
	if err != nil {
		return loaded{}, err
	}
	return loaded{clients: c, ns: ns, rest: cfg, runs: runs, entries: entries}, nil
}

// clients are the Kubernetes and Tekton clients of the flags' kubeconfig,
// the namespace they name and the config they were made from.
func clients(flags *genericclioptions.ConfigFlags) (rmat.Clients, string, *rest.Config, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return rmat.Clients{}, "", nil, err
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return rmat.Clients{}, "", nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return rmat.Clients{}, "", nil, err
	}
	tekton, err := versioned.NewForConfig(cfg)
	if err != nil {
		return rmat.Clients{}, "", nil, err
	}
	return rmat.Clients{Kube: kube, Tekton: tekton}, ns, cfg, nil
}
