// Package rmat is the kubectl rmat plugin: it lists what ResultMaterialize
// runs produced, where each result lives, and whether that place is still
// there.
package rmat

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoncontroller "github.com/tektoncd/pipeline/pkg/controller"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"
)

// Clients are what the plugin reads.
type Clients struct {
	Kube     kubernetes.Interface
	Tekton   versioned.Interface
	Registry Registry
}

// Entry is one materialized result of a run, as ls shows it.
type Entry struct {
	Task     string `json:"task"`
	Run      string `json:"customRun"`
	State    string `json:"state"`
	Result   string `json:"result"`
	Surfaced string `json:"surfaced"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	// Location is where the bytes are: the run's status for an inline
	// value, an exported result's artifact, else the workspace's
	// ConfigMap or claim and the path in it.
	Location string `json:"location"`
	// Exists says whether Location is still there: yes, gone, or unknown
	// (the plugin may not look); "-" for a value kept in the status.
	Exists string `json:"exists"`
	ReadBy string `json:"readBy,omitempty"`

	// workspace is where the result's file is in the binding the run
	// read, and fileSHA256 that file's digest (for a projection, of the
	// file it was computed from, not of the value); cat reads through them.
	workspace  place
	fileSHA256 string
	projected  bool
	uri        string
}

// Runs returns the ResultMaterialize CustomRuns a name stands for: a
// PipelineRun's ("NAME" or "pipelinerun/NAME") or one CustomRun
// ("customrun/NAME"), in namespace ns, ordered by task and name.
func Runs(ctx context.Context, c Clients, ns, name string) ([]v1beta1.CustomRun, error) {
	kind, object, found := strings.Cut(name, "/")
	if !found {
		kind, object = "pipelinerun", name
	}
	switch strings.ToLower(kind) {
	case "pipelinerun", "pipelineruns", "pr":
		if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, object, metav1.GetOptions{}); err != nil {
			return nil, named(err, "pipelinerun", object, ns)
		}
		list, err := c.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + object})
		if err != nil {
			return nil, fmt.Errorf("listing the CustomRuns of pipelinerun %q in namespace %q: %w", object, ns, err)
		}
		runs := slices.DeleteFunc(list.Items, func(r v1beta1.CustomRun) bool { return !ours(&r) })
		slices.SortFunc(runs, func(a, b v1beta1.CustomRun) int {
			return cmp.Or(strings.Compare(task(&a), task(&b)), strings.Compare(a.Name, b.Name))
		})
		return runs, nil
	case "customrun", "customruns":
		run, err := c.Tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, object, metav1.GetOptions{})
		if err != nil {
			return nil, named(err, "customrun", object, ns)
		}
		if !ours(run) {
			return nil, fmt.Errorf("customrun %q in namespace %q is not a ResultMaterialize run", object, ns)
		}
		return []v1beta1.CustomRun{*run}, nil
	default:
		return nil, fmt.Errorf("%q: want NAME or pipelinerun/NAME (a PipelineRun), or customrun/NAME", name)
	}
}

// Names are what ls takes in namespace ns: its PipelineRuns, and its
// ResultMaterialize CustomRuns as customrun/NAME; for shell completion.
func Names(ctx context.Context, c Clients, ns string) ([]string, error) {
	prs, err := c.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	runs, err := c.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, pr := range prs.Items {
		names = append(names, pr.Name)
	}
	for i := range runs.Items {
		if ours(&runs.Items[i]) {
			names = append(names, "customrun/"+runs.Items[i].Name)
		}
	}
	return names, nil
}

func named(err error, kind, name, ns string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %q not found in namespace %q", kind, name, ns)
	}
	return fmt.Errorf("getting %s %q in namespace %q: %w", kind, name, ns, err)
}

// ours reports whether the run is a ResultMaterialize run, by reference or
// by an embedded spec, as the controller's own filter says.
func ours(run *v1beta1.CustomRun) bool {
	return tektoncontroller.FilterCustomRunRef(v1alpha1.SchemeGroupVersion.String(), resultmaterialize.Kind)(run)
}

// task is the run's pipeline task, or its own name outside a pipeline.
func task(run *v1beta1.CustomRun) string {
	if t := run.Labels[pipeline.PipelineTaskLabelKey]; t != "" {
		return t
	}
	return run.Name
}

// List returns every result the runs materialized, and whether the place
// each lives in still exists; a run still running or failed has a line
// saying so and no results.
func List(ctx context.Context, c Clients, runs []v1beta1.CustomRun) ([]Entry, error) {
	var entries []Entry
	var err error
	places := map[string]string{}
	for i := range runs {
		run := &runs[i]
		var ef v1alpha1.ExtraFields
		if err = run.Status.DecodeExtraFields(&ef); err != nil {
			return nil, fmt.Errorf("customrun %q: its status.extraFields is not ResultMaterialize's: %w", run.Name, err)
		}
		base := Entry{Task: task(run), Run: run.Name, State: state(run), ReadBy: ef.ReadBy}
		if len(ef.Results) == 0 {
			base.Result, base.Surfaced, base.Location, base.Exists = "-", "-", "-", "-"
			entries = append(entries, base)
			continue
		}
		for _, row := range ef.Results {
			e := base
			e.Result, e.Size, e.SHA256, e.Surfaced = row.Name, row.Size, row.SHA256, surfaced(row)
			if e.workspace, err = workspacePlace(run, ef, row); err != nil {
				return nil, err
			}
			e.fileSHA256, e.projected = row.SHA256, row.Source.Path != ""
			if e.projected {
				e.fileSHA256 = row.Source.SHA256
			}
			// A truncated value's prefix is in the status; its size and
			// digest are the file's, which stays in the workspace.
			switch {
			case row.Inline && row.Reason != resultmaterialize.Truncated:
				e.Location, e.Exists = "status", "-"
			case row.URI != "":
				e.Location, e.uri = row.URI, row.URI
			default:
				e.Location = e.workspace.String()
				object := e.workspace.kind + "/" + e.workspace.object
				if _, seen := places[object]; !seen {
					if places[object], err = exists(ctx, c, run.Namespace, e.workspace); err != nil {
						return nil, err
					}
				}
				e.Exists = places[object]
			}
			entries = append(entries, e)
		}
	}
	c.Registry.existAll(ctx, entries)
	return entries, nil
}

// state is the run's Succeeded condition in a word.
func state(run *v1beta1.CustomRun) string {
	c := run.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case c == nil:
		return "Pending"
	case c.IsTrue():
		return "Succeeded"
	case c.IsFalse():
		return "Failed"
	default:
		return "Running"
	}
}

// surfaced words a row's disposition as ls shows it.
func surfaced(row resultmaterialize.Row) string {
	word := strings.ToLower(string(row.Reason))
	if row.URI != "" {
		return word + ", exported"
	}
	if row.Source.Path != "" {
		return "projected, " + word
	}
	return word
}

// place is a workspace object and the path of a result in it (the
// binding's subPath included), and the binding and the path below its
// mount.
type place struct {
	kind, object, path string
	binding            v1beta1.WorkspaceBinding
	file               string
}

func (p place) String() string { return p.kind + "/" + p.object + ":" + p.path }

// workspacePlace is where a result kept in the workspace lives: the
// binding the run read (its subPath included) and the result's path.
func workspacePlace(run *v1beta1.CustomRun, ef v1alpha1.ExtraFields, row resultmaterialize.Row) (place, error) {
	file := row.Path
	if row.Source.Path != "" {
		file = row.Source.Path
	}
	name := boundName(run, ef)
	bound := run.Spec.Workspaces
	for _, b := range bound {
		if b.Name != name && (name != "" || len(bound) > 1) {
			continue
		}
		p := place{kind: "workspace", object: b.Name, path: path.Join(b.SubPath, file), binding: b, file: file}
		switch {
		case b.PersistentVolumeClaim != nil:
			p.kind, p.object = "persistentvolumeclaim", b.PersistentVolumeClaim.ClaimName
		case b.ConfigMap != nil:
			p.kind, p.object = "configmap", b.ConfigMap.Name
		case b.CSI != nil:
			p.kind, p.object = "csi", b.CSI.Driver
		}
		return p, nil
	}
	if len(bound) > 1 {
		// A run of an earlier release that named its binding through a
		// ResultMaterialize object recorded no choice.
		return place{kind: "workspace", object: "unrecorded", path: file, file: file}, nil
	}
	return place{}, fmt.Errorf("customrun %q: no workspace binding holds result %q", run.Name, row.Name)
}

// boundName is the binding the run read: recorded in its status, or chosen
// by its embedded spec or its workspace param; "" when neither says.
func boundName(run *v1beta1.CustomRun, ef v1alpha1.ExtraFields) string {
	if ef.Workspace != "" {
		return ef.Workspace
	}
	if cs := run.Spec.CustomSpec; cs != nil {
		var spec v1alpha1.ResultMaterializeSpec
		if json.Unmarshal(cs.Spec.Raw, &spec) == nil && spec.Workspace != "" {
			return spec.Workspace
		}
	}
	for _, p := range run.Spec.Params {
		if p.Name == v1alpha1.ParamWorkspace {
			return p.Value.StringVal
		}
	}
	return ""
}

// exists looks the place's object up: yes, deleting (it has a deletion
// timestamp: a claim a pod still uses), gone, or unknown when the plugin
// may not look or its kind has no object. Any other error is returned.
func exists(ctx context.Context, c Clients, ns string, p place) (string, error) {
	var meta metav1.Object
	var err error
	switch p.kind {
	case "persistentvolumeclaim":
		meta, err = c.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, p.object, metav1.GetOptions{})
	case "configmap":
		meta, err = c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, p.object, metav1.GetOptions{})
	default:
		return "unknown", nil
	}
	switch {
	case err == nil && meta.GetDeletionTimestamp() != nil:
		return "deleting", nil
	case err == nil:
		return "yes", nil
	case apierrors.IsNotFound(err):
		return "gone", nil
	case apierrors.IsForbidden(err):
		return "unknown", nil
	default:
		return "", fmt.Errorf("getting %s %q in namespace %q: %w", p.kind, p.object, ns, err)
	}
}
