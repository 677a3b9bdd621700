package rmat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestCloseDeletesAPodCreatedLate: a create whose answer was lost (the
// client gave up) lands a second later; close still deletes the pod. A
// create the API server refused is not waited for.
func TestCloseDeletesAPodCreatedLate(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		land bool
	}{
		"answer lost": {errors.New("context deadline exceeded"), true},
		"refused":     {apierrors.NewForbidden(corev1.Resource("pods"), "p", errors.New("denied")), false},
	} {
		t.Run(name, func(t *testing.T) {
			kube := fake.NewClientset()
			landed := make(chan string, 1)
			kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
				if tc.land {
					go func() {
						time.Sleep(time.Second)
						_ = kube.Tracker().Add(pod)
						landed <- pod.Name
					}()
				}
				return true, nil, tc.err
			})
			r := newReader(Clients{Kube: kube}, Fetch{ReaderImage: "reader", Hold: time.Minute})
			run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns"}}
			b := v1beta1.WorkspaceBinding{Name: "ws", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}
			start := time.Now()
			if _, err := r.startPod(context.Background(), run, b); err == nil {
				t.Fatal("startPod succeeded with its create failing")
			}
			r.close(context.Background())
			if tc.land {
				<-landed
			}
			pods, err := kube.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
			if err != nil || len(pods.Items) != 0 {
				t.Errorf("pods after close: %d (%v), want none", len(pods.Items), err)
			}
			if waited := time.Since(start); !tc.land && waited > unsureStep {
				t.Errorf("close waited %s after a refused create", waited)
			}
		})
	}
}
