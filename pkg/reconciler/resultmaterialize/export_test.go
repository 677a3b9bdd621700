package resultmaterialize

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ktesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"
)

// exportRegistry is an in-memory registry; it returns the repository
// runs export to.
func exportRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://") + "/results"
}

func exportConfig(repo string) map[string]string {
	cfg := map[string]string{config.KeyOCIRepository: repo, config.KeyOCIInsecure: "true", config.KeyOCIGC: "onRunDeletion"}
	for k, v := range readerConfig {
		cfg[k] = v
	}
	return cfg
}

// exportedPod is the reader pod of run under cfg, done, with the plan the
// reconciler resolves for retain: oci.
func exportedPod(t *testing.T, run *v1beta1.CustomRun, data map[string]string) (*corev1.Pod, materialize.Plan) {
	t.Helper()
	cfg, err := config.FromConfigMap(materializeConfig(data))
	if err != nil {
		t.Fatal(err)
	}
	plan := planOf("flag", "blob")
	for i := range plan.Results {
		plan.Results[i].Retain = resultmaterialize.RetainOCI
	}
	if err := exportTarget(run, run.Spec.Workspaces[0], cfg, &plan, epoch); err != nil {
		t.Fatal(err)
	}
	pod, err := workspace.ReaderPod(run, run.Spec.Workspaces[0], plan, cfg, workspace.Placement{})
	if err != nil {
		t.Fatal(err)
	}
	pod.CreationTimestamp = metav1.NewTime(epoch.Add(-5 * time.Second))
	pod.Status.Phase = corev1.PodSucceeded
	return pod, plan
}

// TestExportPublishedOnceVerified: a run under retain: oci whose reader
// pushed blob publishes blob-uri once the controller finds the artifact
// in the registry, keeps flag's -uri empty, and got its finalizer (one
// patch) before anything else was written. A reader that reports an
// artifact the registry does not have fails the attempt with
// ExportUnverified; a reader pod whose plan names another repository than
// the attempt's is not believed; a registry the controller cannot reach
// makes the run wait, its pod kept.
func TestExportPublishedOnceVerified(t *testing.T) {
	repo := exportRegistry(t)
	big := strings.Repeat("B", 5000)
	for name, tc := range map[string]struct {
		push          bool
		podRepo, repo string
		want          reasons.Reason
		deletes       []string
	}{
		"pushed":        {true, repo, repo, reasons.Materialized, nil},
		"not in there":  {false, repo, repo, reasons.ExportUnverified, []string{"pods/pvc-reader-0"}},
		"forged plan":   {true, repo, "registry.example/other", reasons.ReaderOutputInvalid, []string{"pods/pvc-reader-0"}},
		"registry down": {false, "127.0.0.1:1/results", "127.0.0.1:1/results", reasons.RegistryUnreachable, nil},
	} {
		t.Run(name, func(t *testing.T) {
			run := pvcRun(withParam("retain", "oci"))
			run.UID = "uid-1"
			pod, plan := exportedPod(t, run, exportConfig(tc.podRepo))
			digest := "sha256:" + strings.Repeat("0", 64)
			if tc.push {
				f := artifact.File{Name: "blob", Path: "blob", Size: 5000, SHA256: sum(big)}
				var err error
				digest, err = artifact.Push(context.Background(), *plan.Export, authn.Anonymous, f, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(big)), nil })
				if err != nil {
					t.Fatal(err)
				}
			}
			out := protocol.Output{Files: []protocol.FileReport{
				{Path: "flag", Found: true, Size: 4, SHA256: sum("true"), Head: []byte("true")},
				{Path: "blob", Found: true, Size: 5000, SHA256: sum(big), Export: &protocol.Export{Digest: digest}},
			}}
			e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, exportConfig(tc.repo), logOf(out))
			got, err := e.reconcile(t, run.Name)
			c := condition(got)
			switch tc.want {
			case reasons.Materialized:
				if err != nil || !got.IsSuccessful() {
					t.Fatalf("err %v condition %+v: want Succeeded", err, c)
				}
				if uri := results(got)["blob-uri"]; uri != resultmaterialize.ArtifactURI(repo, digest) || results(got)["flag-uri"] != "" {
					t.Errorf("blob-uri %q flag-uri %q; want blob's artifact and nothing for the inline flag", uri, results(got)["flag-uri"])
				}
			case reasons.RegistryUnreachable:
				if ok, after := controller.IsRequeueKey(err); !ok || after != registryRecheck || got.IsDone() || c.Reason != string(tc.want) {
					t.Errorf("err %v condition %+v: want the run waiting on %s, looking again in %s", err, c, tc.want, registryRecheck)
				}
			default:
				if c == nil || c.Reason != string(tc.want) && !strings.Contains(c.Message, string(tc.want)) {
					t.Errorf("condition %+v (err %v): want the attempt to end with %s", c, err, tc.want)
				}
			}
			if !slices.Contains(got.Finalizers, ArtifactsFinalizer) {
				t.Errorf("finalizers %v, want %s", got.Finalizers, ArtifactsFinalizer)
			}
			e.wantWrites(t, writes{Patches: []string{"customruns/pvc"}, StatusUpdates: []string{"customruns/pvc"}, Deletes: tc.deletes})
		})
	}
}

// TestCollectorDeletesArtifacts: a deleted run held by its finalizer has
// its artifact deleted and is let go; an artifact of an earlier run of
// the same name is not deleted, and the run is let go at once; a registry
// that keeps failing holds it until oci-gc-timeout, then it is let go
// with ArtifactsNotDeleted.
func TestCollectorDeletesArtifacts(t *testing.T) {
	for name, tc := range map[string]struct {
		down    bool
		uid     string
		elapsed time.Duration
		requeue bool
		event   reasons.Reason
	}{
		"another run's":    {false, "uid-2", 0, false, reasons.ArtifactsNotDeleted},
		"deleted":          {false, "uid-1", 0, false, reasons.ArtifactsDeleted},
		"failing":          {true, "uid-1", time.Minute, true, ""},
		"failing too long": {true, "uid-1", time.Hour, false, reasons.ArtifactsNotDeleted},
	} {
		t.Run(name, func(t *testing.T) {
			repo := exportRegistry(t)
			target := protocol.ExportTarget{Repository: repo, Insecure: true, Annotations: map[string]string{artifact.AnnotationNamespace: ns, artifact.AnnotationRun: "pvc", artifact.AnnotationUID: "uid-1"}}
			f := artifact.File{Name: "blob", Path: "blob", Size: 4, SHA256: sum("blob")}
			digest, err := artifact.Push(context.Background(), target, authn.Anonymous, f, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte("blob"))), nil })
			if err != nil {
				t.Fatal(err)
			}
			uri := resultmaterialize.ArtifactURI(repo, digest)
			if tc.down {
				uri = resultmaterialize.ArtifactURI("127.0.0.1:1/results", digest)
			}
			run := pvcRun()
			run.UID = types.UID(tc.uid)
			run.Finalizers = []string{"other", ArtifactsFinalizer}
			run.DeletionTimestamp = &metav1.Time{Time: epoch}
			if err := run.Status.EncodeExtraFields(map[string]any{"results": []resultmaterialize.Row{{Name: "blob", URI: uri}}}); err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, exportConfig(repo))
			e.clock.SetTime(epoch.Add(tc.elapsed))
			events := record.NewFakeRecorder(10)
			c := &collector{clock: e.clock, store: e.store, lister: listers.NewCustomRunLister(e.runs), pipeline: e.clients.Pipeline, kube: e.clients.Kube, events: events}
			if err := c.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {}); err != nil {
				t.Fatal(err)
			}
			err = c.Reconcile(e.ctx, ns+"/"+run.Name)
			if ok, _ := controller.IsRequeueKey(err); ok != tc.requeue {
				t.Fatalf("Reconcile = %v, requeue %v", err, tc.requeue)
			}
			got, gerr := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
			if gerr != nil {
				t.Fatal(gerr)
			}
			if held := slices.Contains(got.Finalizers, ArtifactsFinalizer); held != tc.requeue || !slices.Contains(got.Finalizers, "other") {
				t.Errorf("finalizers %v after the collector; want ours kept only while it retries, and others kept", got.Finalizers)
			}
			var seen string
			select {
			case seen = <-events.Events:
			default:
			}
			if !strings.Contains(seen, string(tc.event)) || (tc.event == "") != (seen == "") {
				t.Errorf("event %q, want %q", seen, tc.event)
			}
		})
	}
}

// TestConfigMapNotExported: a ConfigMap is not Tekton's to delete, so
// retain: oci exports nothing from it: the run succeeds, its reference's
// -uri is empty, and no finalizer is added.
func TestConfigMapNotExported(t *testing.T) {
	run := newRun("cm", withConfigMapWorkspace("ws", "files"), withParam("results", "flag", "blob"), withParam("retain", "oci"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, exportConfig("registry.invalid/results"))
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	r := results(got)
	if v, ok := r["blob-uri"]; !ok || v != "" || r["blob-inline"] != "false" || len(got.Finalizers) != 0 {
		t.Errorf("blob-uri %q (present %v), blob-inline %q, finalizers %v; want an empty -uri for the reference and no finalizer", v, ok, r["blob-inline"], got.Finalizers)
	}
}

// TestExportTargetOnlyForVolumes: only a claim or a CSI volume that holds
// no secrets is exported; the reader's exports end before its pod's
// deadline.
func TestExportTargetOnlyForVolumes(t *testing.T) {
	cfg, err := config.FromConfigMap(materializeConfig(exportConfig("registry.example/results")))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		b    v1beta1.WorkspaceBinding
		want bool
	}{
		"claim":      {v1beta1.WorkspaceBinding{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}, true},
		"csi":        {v1beta1.WorkspaceBinding{CSI: &corev1.CSIVolumeSource{Driver: "ru.yandex.s3.csi"}}, true},
		"secret csi": {v1beta1.WorkspaceBinding{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}, false},
		"config map": {v1beta1.WorkspaceBinding{ConfigMap: &corev1.ConfigMapVolumeSource{}}, false},
		"secret":     {v1beta1.WorkspaceBinding{Secret: &corev1.SecretVolumeSource{}}, false},
	} {
		plan := planOf("blob")
		plan.Results[0].Retain = resultmaterialize.RetainOCI
		if err := exportTarget(pvcRun(), tc.b, cfg, &plan, epoch); err != nil {
			t.Fatal(err)
		}
		if got := plan.Export != nil; got != tc.want {
			t.Errorf("%s: exported %v, want %v", name, got, tc.want)
		}
		if want := epoch.Add(cfg.ReaderReadTimeout - 18*time.Second).Unix(); plan.Export != nil && plan.Export.Deadline != want {
			t.Errorf("%s: the reader's pushes end at %d, want %d: a tenth of its %s before its pod's deadline", name, plan.Export.Deadline, want, cfg.ReaderReadTimeout)
		}
	}
}

// TestReaderPodMountsRegistryCredentials: an exporting reader pod mounts
// oci-credentials-secret of the run's namespace, read-only and optional,
// its .dockerconfigjson as the file the reader reads; a pod that exports
// nothing mounts no Secret.
func TestReaderPodMountsRegistryCredentials(t *testing.T) {
	data := exportConfig("registry.example/results")
	data[config.KeyOCICredentialsSecret] = "registry-credentials"
	run := pvcRun(withParam("retain", "oci"))
	pod, _ := exportedPod(t, run, data)
	want := corev1.Volume{Name: "oci-credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: "registry-credentials", Optional: ptr.To(true), DefaultMode: ptr.To(int32(0o444)),
		Items: []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: protocol.CredentialsFile}}}}}
	mount := corev1.VolumeMount{Name: "oci-credentials", MountPath: protocol.CredentialsDir, ReadOnly: true}
	if len(pod.Spec.Volumes) != 2 || cmp.Diff(want, pod.Spec.Volumes[1]) != "" || !slices.Contains(pod.Spec.Containers[0].VolumeMounts, mount) {
		t.Errorf("volumes %+v, mounts %+v; want the Secret mounted read-only and optional", pod.Spec.Volumes, pod.Spec.Containers[0].VolumeMounts)
	}
	cfg, err := config.FromConfigMap(materializeConfig(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := workspace.ReaderPod(run, run.Spec.Workspaces[0], planOf("flag"), cfg, workspace.Placement{})
	if err != nil || len(plain.Spec.Volumes) != 1 {
		t.Errorf("a pod exporting nothing has volumes %+v (%v), want the workspace only", plain.Spec.Volumes, err)
	}
}

// TestFinalizerForbiddenStillExports: a ClusterRole without patch on
// customruns does not stop the export: the reader pod is made, the run
// gets no finalizer, and an ArtifactsUncollected Event says its
// artifacts will stay.
func TestFinalizerForbiddenStillExports(t *testing.T) {
	run := pvcRun(withParam("retain", "oci"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, exportConfig("registry.example/results"))
	e.clients.Pipeline.PrependReactor("patch", "customruns", func(ktesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(v1beta1.Resource("customruns"), run.Name, errors.New("no patch"))
	})
	got, _ := e.reconcile(t, run.Name)
	if got.IsDone() || len(got.Finalizers) != 0 || !slices.Contains(podNames(t, e), "pvc-reader-0") {
		t.Fatalf("done %v, finalizers %v, pods %v: want the reader pod made and no finalizer", got.IsDone(), got.Finalizers, podNames(t, e))
	}
	if evs := events(e.ctx); !slices.ContainsFunc(evs, func(ev string) bool { return strings.Contains(ev, string(reasons.ArtifactsUncollected)) }) {
		t.Errorf("events %v, want %s", evs, reasons.ArtifactsUncollected)
	}
}
