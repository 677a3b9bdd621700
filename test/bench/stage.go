package main

import (
	"context"
	"fmt"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// stagePipelines is how many pipelines of each kind the stage row runs,
// interleaved.
const stagePipelines = 10

// How a pipeline hands the producer's result to its consumer.
const (
	stageNative = "native"
	stageRM     = "materialize"
	stageCat    = "cat"
	// stageLarge is ResultMaterialize with a reference beside the small
	// result: the reader runs while it hashes the file.
	stageLarge = "materialize with a 300 MiB reference"
	largeName  = "big"
	largeBytes = 300 << 20
	// stageDirect is ResultMaterialize on a claim of the s3fs class with
	// the k8s-csi-s3 profile: read from the bucket, no reader pod.
	stageDirect = "materialize from the object store, direct"
	stageClaim  = "stage-s3"
)

// stage measures what handing one small result from a producer task to a
// consumer task costs inside a pipeline: the gap between the producer's
// TaskRun seen done and the consumer's TaskRun seen created, with native
// results, with ResultMaterialize on the producer's PVC (a reader pod), on
// an object-store PVC read directly, and with a TaskRun that copies the
// file into a result.
func (e *env) stage(ctx context.Context, r *report) error {
	kinds := []string{stageNative, stageRM, stageCat, stageLarge}
	restore, err := e.stageDirect(ctx)
	if err != nil {
		return err
	}
	if restore != nil {
		defer restore()
		kinds = append(kinds, stageDirect)
	} else {
		r.note("the direct stage row skipped: no StorageClass %s (the local cluster's S3 server and test CSI driver)", directClass)
	}
	gaps := map[string][]time.Duration{}
	parts := map[string]*[5][]time.Duration{stageRM: {}, stageLarge: {}}
	var direct [3][]time.Duration
	for i := range stagePipelines {
		for j, kind := range kinds {
			name := fmt.Sprintf("stage-%d-%d", j, i)
			if _, err := e.tekton.TektonV1().PipelineRuns(e.ns).Create(ctx, stagePipelineRun(name, kind), metav1.CreateOptions{}); err != nil {
				return err
			}
			consumer := key(kindTaskRun, name+"-consume")
			if missing := e.waitAll(ctx, []string{consumer}, 3*time.Minute); len(missing) > 0 {
				return fmt.Errorf("pipeline %s: its consumer TaskRun was not done after 3m", name)
			}
			if f := e.track.result(consumer); !f.ok {
				return fmt.Errorf("pipeline %s: its consumer TaskRun failed: %s", name, f.reason)
			}
			produced := e.track.result(key(kindTaskRun, name+"-produce")).at
			consumed := e.track.seenAt(consumer)
			gaps[kind] = append(gaps[kind], consumed.Sub(produced))
			run := name + "-materialize"
			created := e.track.seenAt(key(kindRun, run))
			if kind == stageDirect {
				done := e.track.result(key(kindRun, run)).at
				for j, d := range []time.Duration{created.Sub(produced), done.Sub(created), consumed.Sub(done)} {
					direct[j] = append(direct[j], d)
				}
			}
			p, ok := parts[kind]
			if !ok {
				continue
			}
			st, ok := e.track.stagesOf(run + "-reader-0")
			if !ok || st.running.IsZero() {
				continue
			}
			done := e.track.result(key(kindRun, run)).at
			for j, d := range []time.Duration{created.Sub(produced), st.created.Sub(created), st.running.Sub(st.created), done.Sub(st.running), consumed.Sub(done)} {
				p[j] = append(p[j], d)
			}
		}
	}
	native := percentile(gaps[stageNative], 50)
	for _, kind := range []string{stageRM, stageLarge, stageDirect, stageCat} {
		if len(gaps[kind]) == 0 {
			continue
		}
		r.row(fmt.Sprintf("pipeline stage, producer done to consumer created: %s vs native results, interleaved", kind), fmt.Sprint(stagePipelines),
			ms(percentile(gaps[kind], 50))+" vs "+ms(native), ms(percentile(gaps[kind], 90))+" vs "+ms(percentile(gaps[stageNative], 90)),
			"-", "+"+ms(percentile(gaps[kind], 50)-native)+" (p50)", "-")
	}
	r.note("every stage gap (ms): %s: %s; %s: %s; %s: %s; %s: %s; native: %s", stageRM, list(gaps[stageRM]), stageLarge, list(gaps[stageLarge]),
		stageDirect, list(gaps[stageDirect]), stageCat, list(gaps[stageCat]), list(gaps[stageNative]))
	for _, kind := range []string{stageRM, stageLarge} {
		if p := parts[kind]; len(p[0]) > 0 {
			r.note("where a pipeline's %s stage goes (p50 of %d): producer done to CustomRun seen %s, to reader pod seen %s, to its container seen running or done %s, to the CustomRun seen done %s, to the consumer seen %s",
				kind, len(p[0]), ms(percentile(p[0], 50)), ms(percentile(p[1], 50)), ms(percentile(p[2], 50)), ms(percentile(p[3], 50)), ms(percentile(p[4], 50)))
		}
	}
	if len(direct[0]) > 0 {
		r.note("where a pipeline's %s stage goes (p50 of %d): producer done to CustomRun seen %s, to the CustomRun seen done %s, to the consumer seen %s",
			stageDirect, len(direct[0]), ms(percentile(direct[0], 50)), ms(percentile(direct[1], 50)), ms(percentile(direct[2], 50)))
	}
	return nil
}

func list(ds []time.Duration) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
	}
	return s
}

// stagePipelineRun is a producer that writes the result both as a file in
// the claim and as a native result, the kind's hand-over, and a consumer
// that takes the value as a param.
func stagePipelineRun(name, kind string) *v1.PipelineRun {
	ws := []v1.WorkspacePipelineTaskBinding{{Name: "data", Workspace: "data"}}
	script := fmt.Sprintf(`printf %s > "$(workspaces.data.path)/%s"; printf %s > "$(results.%s.path)"`, resultValue, resultName, resultValue, resultName)
	results := []string{resultName}
	if kind == stageLarge {
		script += fmt.Sprintf(`; head -c %d /dev/urandom > "$(workspaces.data.path)/%s"`, largeBytes, largeName)
		results = append(results, largeName)
	}
	produce := v1.PipelineTask{Name: "produce", Workspaces: ws, TaskSpec: stageTask("data", script)}
	value := fmt.Sprintf("$(tasks.produce.results.%s)", resultName)
	tasks := []v1.PipelineTask{produce}
	switch kind {
	case stageRM, stageLarge, stageDirect:
		tasks = append(tasks, v1.PipelineTask{
			Name: "materialize", RunAfter: []string{"produce"}, Workspaces: []v1.WorkspacePipelineTaskBinding{{Name: "outputs", Workspace: "data"}},
			TaskRef: &v1.TaskRef{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ResultMaterialize"},
			Params:  v1.Params{{Name: "results", Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: results}}},
		})
		value = fmt.Sprintf("$(tasks.materialize.results.%s)", resultName)
	case stageCat:
		tasks = append(tasks, v1.PipelineTask{Name: "read", RunAfter: []string{"produce"}, Workspaces: ws, TaskSpec: stageTask("data",
			fmt.Sprintf(`cat "$(workspaces.data.path)/%s" > "$(results.%s.path)"`, resultName, resultName))})
		value = fmt.Sprintf("$(tasks.read.results.%s)", resultName)
	}
	consume := v1.PipelineTask{Name: "consume", Params: v1.Params{{Name: "v", Value: *v1.NewStructuredValues(value)}},
		TaskSpec: &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{
			Params: v1.ParamSpecs{{Name: "v"}},
			Steps:  []v1.Step{{Name: "use", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, Script: `test "$(params.v)" = ` + resultValue}},
		}}}
	claim := claimName
	if kind == stageDirect {
		claim = stageClaim
	}
	return &v1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PipelineRunSpec{
			PipelineSpec: &v1.PipelineSpec{Workspaces: []v1.PipelineWorkspaceDeclaration{{Name: "data"}}, Tasks: append(tasks, consume)},
			Workspaces:   []v1.WorkspaceBinding{{Name: "data", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
		},
	}
}

// stageDirect turns on direct reads and makes the object-store claim the
// direct pipelines share; it returns nil, and no error, when the cluster
// has no S3 class.
func (e *env) stageDirect(ctx context.Context) (func(), error) {
	if _, err := e.kube.StorageV1().StorageClasses().Get(ctx, directClass, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	restore, err := e.allowDirect(ctx)
	if err != nil {
		return nil, err
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: stageClaim}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To(directClass), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}}
	if _, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		restore()
		return nil, err
	}
	return restore, nil
}

// stageTask is one busybox step with the workspace and the result.
func stageTask(workspace, script string) *v1.EmbeddedTask {
	return &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{
		Workspaces: []v1.WorkspaceDeclaration{{Name: workspace}},
		Results:    []v1.TaskResult{{Name: resultName}},
		Steps:      []v1.Step{{Name: "run", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, Script: script}},
	}}
}
