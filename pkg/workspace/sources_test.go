package workspace

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSourcesAreRegistered fails when a type of this package implements
// Source (it has Read, Cleanup, Traits and Marker methods) and NewSources
// does not list it, or lists it twice.
func TestSourcesAreRegistered(t *testing.T) {
	methods := map[string][]string{}
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				methods[id.Name] = append(methods[id.Name], fn.Name.Name)
			}
		}
	}
	var implemented []string
	iface := reflect.TypeFor[Source]()
	for name, got := range methods {
		if len(got) >= iface.NumMethod() && allOf(iface, got) {
			implemented = append(implemented, name)
		}
	}
	var registered []string
	for _, src := range NewSources(Deps{}) {
		registered = append(registered, reflect.TypeOf(src).Elem().Name())
	}
	slices.Sort(implemented)
	slices.Sort(registered)
	if len(implemented) == 0 || !slices.Equal(implemented, registered) {
		t.Errorf("NewSources registers %v; the types of pkg/workspace that implement Source are %v: list each once", registered, implemented)
	}
}

func allOf(iface reflect.Type, names []string) bool {
	for i := range iface.NumMethod() {
		if !slices.Contains(names, iface.Method(i).Name) {
			return false
		}
	}
	return true
}

// bindings has one binding of each kind.
var bindings = map[Kind]v1beta1.WorkspaceBinding{
	KindConfigMap:             {ConfigMap: &corev1.ConfigMapVolumeSource{}},
	KindPersistentVolumeClaim: {PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}},
	KindCSI:                   {CSI: &corev1.CSIVolumeSource{Driver: "gcsfuse.csi.storage.gke.io"}},
	KindSecret:                {Secret: &corev1.SecretVolumeSource{}},
	KindEmptyDir:              {EmptyDir: &corev1.EmptyDirVolumeSource{}},
	KindVolumeClaimTemplate:   {VolumeClaimTemplate: &corev1.PersistentVolumeClaim{}},
	KindProjected:             {Projected: &corev1.ProjectedVolumeSource{}},
}

// TestEveryKindHasOneAnswer fails when a binding kind is claimed by two
// sources that read every binding of it, or by none and has no reason it
// cannot be read, or by a Claimer listed after the source that reads every
// binding (it would never be asked), or when a field of Tekton's
// WorkspaceBinding names a kind this package does not know.
func TestEveryKindHasOneAnswer(t *testing.T) {
	sources := NewSources(Deps{})
	claimed := map[Kind]int{}
	for _, src := range sources {
		_, some := src.(Claimer)
		for _, k := range src.Traits().Kinds {
			if some && claimed[k] > 0 {
				t.Errorf("%T reads some %s bindings but comes after the source that reads them all", src, k)
			}
			if !some {
				claimed[k]++
			}
		}
	}
	for k, n := range claimed {
		if n > 1 {
			t.Errorf("binding kind %s is claimed by %d sources, want one", k, n)
		}
		if _, ok := bindings[k]; !ok {
			t.Errorf("a source claims %s, which is not a binding kind", k)
		}
	}
	cfg := config.Default()
	cfg.AllowSecretWorkspaces = true
	for k, b := range bindings {
		if got := kindOf(b); got != k {
			t.Errorf("kindOf(a %s binding) = %q", k, got)
		}
		_, why := unreadable[k]
		if (claimed[k] == 1) == why {
			t.Errorf("binding kind %s: claimed by %d sources, with a reason it cannot be read: %v; want exactly one of the two", k, claimed[k], why)
		}
		b.Name = "ws"
		src, err := sources.For(context.Background(), "ns", b, cfg)
		if o := outcome.As(err); claimed[k] == 0 && (o == nil || o.Reason != reasons.WorkspaceNotSupported || !strings.Contains(o.Message, unreadable[k])) {
			t.Errorf("For(%s) = %v, want %s saying why", k, err, reasons.WorkspaceNotSupported)
		}
		if claimed[k] == 1 && (err != nil || !slices.Contains(src.Traits().Kinds, k)) {
			t.Errorf("For(%s) = %v, %v; want the source that claims it", k, src, err)
		}
	}
	// Every volume-source field of a binding is a kind: a kind Tekton adds
	// must be claimed or refused here.
	fields := reflect.TypeFor[v1beta1.WorkspaceBinding]()
	for i := range fields.NumField() {
		f := fields.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Type.Kind() != reflect.Pointer || name == "" {
			continue
		}
		if _, ok := bindings[Kind(name)]; !ok {
			t.Errorf("WorkspaceBinding.%s (%s) is a binding kind this package does not know", f.Name, name)
		}
	}
}

// TestResumingFindsTheSourceByItsMarker checks that a recorded attempt
// goes back to the source whose marker it records, and to none when the
// marker is of another attempt or absent.
func TestResumingFindsTheSourceByItsMarker(t *testing.T) {
	sources := NewSources(Deps{})
	run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns"}}
	for _, src := range sources {
		marker := src.Marker(run)
		if src.Traits().Resumes != (marker != "") {
			t.Errorf("%T: Resumes is %v and its marker %q: a source that resumes has a marker, and only it", src, src.Traits().Resumes, marker)
		}
		if marker != "" && sources.Resuming(run, marker) != src {
			t.Errorf("Resuming(%q) = %v, want %T", marker, sources.Resuming(run, marker), src)
		}
	}
	if got := sources.Resuming(run, ""); got != nil {
		t.Errorf("Resuming(\"\") = %T, want none", got)
	}
	later := run.DeepCopy()
	later.Status.RetriesStatus = []v1beta1.CustomRunStatus{{}}
	for _, src := range sources {
		if m := src.Marker(run); m != "" && sources.Resuming(later, m) != nil {
			t.Errorf("the marker %q of attempt 0 resumes attempt 1", m)
		}
	}
}
