package resultmaterialize

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	fakermclient "github.com/resultmaterialize/controller/pkg/client/injection/client/fake"
	"k8s.io/apimachinery/pkg/api/meta"
	ktesting "k8s.io/client-go/testing"
)

// writes is every call that changes the cluster, as knative eventing's
// TableTest states them (WantCreates, WantUpdates, WantStatusUpdates,
// WantDeletes): each entry is "resource/name", once per call sent, in any
// order (cleanup lists pods from a cache, in no set order). Reads (get,
// list, watch) are not writes and are never stated.
type writes struct {
	Creates       []string
	Updates       []string
	StatusUpdates []string
	Patches       []string
	Deletes       []string
	// Others holds any other write ("verb resource/name"), which no test
	// expects.
	Others []string
}

// recorder is a fake clientset: it records every action sent to it.
type recorder interface {
	Actions() []ktesting.Action
	ClearActions()
}

// recorders are the fake clients the controller talks to: Kubernetes,
// Tekton and this project's own.
func (e *env) recorders() []recorder {
	return []recorder{e.clients.Kube, e.clients.Pipeline, fakermclient.Get(e.ctx)}
}

// clearActions forgets the actions recorded so far, such as the test's own
// setup writes, so that the next wantWrites states only the controller's.
func (e *env) clearActions() {
	for _, r := range e.recorders() {
		r.ClearActions()
	}
}

// wantWrites fails the test unless the writes sent to the fake clients since
// the environment was made, or since the last wantWrites or clearActions,
// are exactly want: a stray write, an extra pod or a second status update
// fails it. It then clears the recorded actions, so a test that reconciles
// several times states each reconcile's writes on their own.
func (e *env) wantWrites(t *testing.T, want writes) {
	t.Helper()
	var got writes
	for _, r := range e.recorders() {
		for _, a := range r.Actions() {
			what := a.GetResource().Resource + "/" + actionName(a)
			switch verb := a.GetVerb(); {
			case verb == "get" || verb == "list" || verb == "watch":
			case verb == "create" && a.GetSubresource() == "":
				got.Creates = append(got.Creates, what)
			case verb == "update" && a.GetSubresource() == "":
				got.Updates = append(got.Updates, what)
			case verb == "update" && a.GetSubresource() == "status":
				got.StatusUpdates = append(got.StatusUpdates, what)
			case verb == "patch" && a.GetSubresource() == "":
				got.Patches = append(got.Patches, what)
			case verb == "delete" && a.GetSubresource() == "":
				got.Deletes = append(got.Deletes, what)
			default:
				got.Others = append(got.Others, strings.TrimSpace(verb+" "+what+" "+a.GetSubresource()))
			}
		}
		r.ClearActions()
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("API writes (-want +got):\n%s", d)
	}
}

// actionName is the name of the object an action is about.
func actionName(a ktesting.Action) string {
	switch a := a.(type) {
	case ktesting.CreateAction: // an UpdateAction too: both carry the object
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			return m.GetName()
		}
	case ktesting.PatchAction:
		return a.GetName()
	case ktesting.DeleteAction:
		return a.GetName()
	}
	return ""
}
