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
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRuns(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := clients(flags)
			if err != nil {
				return err
			}
			runs, err := rmat.Runs(cmd.Context(), c, ns, args[0])
			if err != nil {
				return err
			}
			entries, err := rmat.List(cmd.Context(), c, runs)
			if err != nil {
				return err
			}
			if len(runs) == 0 && (output == rmat.OutputTable || output == rmat.OutputWide) {
				// As kubectl get says it: on stderr, so a pipe sees nothing.
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "No ResultMaterialize runs for %s in namespace %s.\n", args[0], ns)
				return err
			}
			return rmat.Print(cmd.OutOrStdout(), entries, output)
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
		c, ns, err := clients(flags)
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
