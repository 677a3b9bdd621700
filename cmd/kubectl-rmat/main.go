// Command kubectl-rmat is the kubectl rmat plugin (and, installed as
// tkn-rmat, the tkn rmat plugin): it shows what ResultMaterialize runs
// produced. It takes kubectl's kubeconfig, context and namespace flags.
//
// Exit codes: 0 done; 1 any error, named on stderr.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/resultmaterialize/controller/pkg/rmat"
	"github.com/spf13/cobra"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

func main() {
	os.Exit(run())
}

// run runs the command line and returns the exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := root(filepath.Base(os.Args[0])).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

// root is the command tree; use is how the user calls it, "kubectl rmat"
// or "tkn rmat", from the binary's name.
func root(binary string) *cobra.Command {
	use := strings.Replace(strings.TrimSuffix(binary, ".exe"), "-", " ", 1)
	flags := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		Use:           use,
		Short:         "See the results ResultMaterialize runs produced",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(ls(flags))
	return cmd
}

func ls(flags *genericclioptions.ConfigFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls (PIPELINERUN | pipelinerun/NAME | customrun/NAME)",
		Short: "List every materialized result of a PipelineRun's ResultMaterialize tasks, or of one CustomRun",
		Example: `  kubectl rmat ls my-pipeline-run
  kubectl rmat ls customrun/my-pipeline-run-materialize -o wide`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := clients(flags)
			if err != nil {
				return err
			}
			runs, err := rmat.Runs(cmd.Context(), c, ns, args[0])
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "No ResultMaterialize runs for %s in namespace %s.\n", args[0], ns)
				return err
			}
			entries, err := rmat.List(cmd.Context(), c, runs)
			if err != nil {
				return err
			}
			return rmat.Print(cmd.OutOrStdout(), entries, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json, yaml or wide")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{rmat.OutputJSON, rmat.OutputYAML, rmat.OutputWide}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// clients are the Kubernetes and Tekton clients of the flags' kubeconfig,
// and the namespace they name.
func clients(flags *genericclioptions.ConfigFlags) (rmat.Clients, string, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return rmat.Clients{}, "", err
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return rmat.Clients{}, "", err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return rmat.Clients{}, "", err
	}
	tekton, err := versioned.NewForConfig(cfg)
	if err != nil {
		return rmat.Clients{}, "", err
	}
	return rmat.Clients{Kube: kube, Tekton: tekton}, ns, nil
}
