package workspace

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/projection"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ConfigMapSource reads configMap bindings through the API, laying out
// keys as the kubelet would mount them: under their key, or under the
// binding's items paths, below the binding's subPath. Projections are
// computed here, in the controller, with no pod.
type ConfigMapSource struct {
	Kube kubernetes.Interface
	// Memory is the controller-wide budget a run's projections reserve
	// their estimated memory from before they parse anything.
	Memory *Memory
	// Time bounds all projections of one run; zero means ProjectionTime.
	Time time.Duration
}

// ProjectionTime bounds the projections one run computes in the
// controller, all together: a worker is never held longer, and the
// reconcile keeps its time to write the status.
const ProjectionTime = 10 * time.Second

// memoryRecheck is how soon a run whose projections wait for the
// controller's memory budget looks again.
const memoryRecheck = time.Second

var _ Source = (*ConfigMapSource)(nil)

// Traits implements Source: a read ends within one reconcile and makes
// nothing, so there is no attempt to resume and no copy of the run to
// outdate.
func (s *ConfigMapSource) Traits() Traits {
	return Traits{Kinds: []Kind{KindConfigMap}}
}

// Marker implements Source: a ConfigMap read records nothing.
func (s *ConfigMapSource) Marker(*v1beta1.CustomRun) string { return "" }

// Read implements Source.
// The plan is the one resolved now: the read ends within this reconcile.
func (s *ConfigMapSource) Read(ctx context.Context, a Attempt) (Found, error) {
	run, b, reqs := a.Run, a.Binding, a.Plan.Requests()
	ref := b.ConfigMap
	cm, err := s.Kube.CoreV1().ConfigMaps(run.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	files := map[string][]byte{}
	switch {
	case apierrors.IsNotFound(err):
		if ref.Optional == nil || !*ref.Optional {
			return Found{}, outcome.Fail(reasons.WorkspaceSourceNotFound,
				"workspace %q is bound to configMap %q, which does not exist in namespace %q", b.Name, ref.Name, run.Namespace)
		}
	case err != nil:
		return Found{}, fmt.Errorf("getting configMap %s/%s: %w", run.Namespace, ref.Name, err)
	default:
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			files[k] = v
		}
	}
	if len(ref.Items) > 0 {
		mapped := map[string][]byte{}
		for _, item := range ref.Items {
			if v, ok := files[item.Key]; ok {
				mapped[path.Clean(item.Path)] = v
			}
		}
		files = mapped
	}
	reports := make([]protocol.FileReport, len(reqs))
	for i, req := range reqs {
		reports[i] = report(files, path.Join(b.SubPath, req.Path), req)
	}
	if err := projectFiles(ctx, s.Memory, s.Time, b, reqs, files, reports); err != nil {
		return Found{}, err
	}
	return Found{Plan: a.Plan, Reports: reports, ReadBy: ReadByConfigMap}, nil
}

// projectFiles answers the projections of reqs over files (paths below
// the volume's root, the binding's subPath included) in the controller,
// within the controller-wide memory budget and the time one run's
// projections share.
func projectFiles(ctx context.Context, memory *Memory, limit time.Duration, b v1beta1.WorkspaceBinding, reqs []protocol.FileRequest, files map[string][]byte, reports []protocol.FileReport) error {
	// The files are projected one after the other: the run needs the
	// largest file's estimate, not their sum.
	var groups []projection.Group
	var contents [][]byte
	var need int64
	for _, g := range projection.Groups(reqs) {
		content, ok := files[path.Join(b.SubPath, g.Path)]
		if !ok {
			continue
		}
		g = g.Capped(projectionCap(int64(len(content))))
		groups, contents = append(groups, g), append(contents, content)
		need = max(need, projection.MemoryEstimate(content, g.Requests))
	}
	if len(groups) == 0 {
		return nil
	}
	if need > memory.Size() {
		return outcome.Fail(reasons.ProjectionTooLarge,
			"the projections of workspace %q need about %d bytes of the controller's memory, above its whole budget of %d bytes for projections: project from a persistentVolumeClaim workspace, whose projections run in the reader pod", b.Name, need, memory.Size())
	}
	release, ok := memory.Hold(need)
	if !ok {
		return outcome.WaitOn(reasons.ControllerMemoryBusy, memoryRecheck,
			"the projections of workspace %q wait for %d bytes of the controller's memory budget of %d bytes, held by other runs' projections", b.Name, need, memory.Size())
	}
	defer release()
	if limit == 0 {
		limit = ProjectionTime
	}
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for k, g := range groups {
		g.Answer(pctx, bytes.NewReader(contents[k]), int64(len(contents[k])), reports)
	}
	if err := ctx.Err(); err != nil {
		// The reconcile's own deadline, not the projection time, cut
		// them short: try again rather than fail the results.
		return fmt.Errorf("projecting workspace %q: the reconcile ran out of time: %w", b.Name, err)
	}
	return nil
}

// ControllerMaxProjection caps max-projection-bytes for projections the
// controller computes: a ConfigMap holds at most 1 MiB, whose parse may
// take tens of MiB (a megabyte of small objects estimates at 65 MB, under
// the 80 MiB this cap allows); the controller-wide Memory budget bounds
// how many such parses run at once.
const ControllerMaxProjection int64 = 8 << 20

// minRender is the least max-projection-bytes a ConfigMap projection
// gets, however small its file.
const minRender int64 = 64 << 10

// projectionCap is the max-projection-bytes of a ConfigMap projection on
// a file of size bytes: at most ControllerMaxProjection, and at most what
// the file can need: the file parsed whole, and what its values render
// to, at most minRender or 16 times the file.
func projectionCap(size int64) int64 {
	return min(ControllerMaxProjection, max(minRender, 16*size))
}

// report reports on the request's file at volPath among files: not
// found, a directory, or, for a plain file, its size, digest and head. A
// projection's report is left to its group.
func report(files map[string][]byte, volPath string, req protocol.FileRequest) protocol.FileReport {
	rep := protocol.FileReport{Path: req.Path}
	content, ok := files[volPath]
	if !ok {
		for p := range files {
			if volPath == "." || strings.HasPrefix(p, volPath+"/") {
				return protocol.NotRegular(rep, "directory")
			}
		}
		return rep
	}
	if req.Projection != nil {
		return rep
	}
	// The head is a slice of the ConfigMap's bytes: nothing is copied.
	return protocol.DescribeBytes(content, req)
}

// Cleanup implements Source: reading a ConfigMap creates nothing.
func (s *ConfigMapSource) Cleanup(context.Context, *v1beta1.CustomRun) error { return nil }
