package rmat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// An inline value is written as the file's bytes: as stored, decoded from
// base64, or with the newline trimNewline dropped, whichever has the
// published digest; a value with none is written and fails the check.
func TestCatInline(t *testing.T) {
	for name, tc := range map[string]struct {
		value, file string
		mismatch    bool
	}{
		"text":            {"ready", "ready", false},
		"trimmed newline": {"ready", "ready\n", false},
		"trimmed crlf":    {"ready", "ready\r\n", false},
		"base64":          {base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), string([]byte{0, 1, 2}), false},
		"changed":         {"ready", "steady", true},
	} {
		t.Run(name, func(t *testing.T) {
			run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
			run.Status.Results = []v1beta1.CustomRunResult{{Name: "status", Value: tc.value}}
			var out bytes.Buffer
			err := Cat(context.Background(), Clients{}, Fetch{}, run, Entry{Task: "t", Result: "status", Location: "status", SHA256: digest(tc.file)}, &out)
			switch {
			case tc.mismatch && !errors.Is(err, ErrMismatch):
				t.Errorf("Cat = %v, want ErrMismatch", err)
			case !tc.mismatch && (err != nil || out.String() != tc.file):
				t.Errorf("Cat = %q, %v; want %q", out.String(), err, tc.file)
			}
		})
	}
}

func TestCatConfigMap(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outputs"},
		Data: map[string]string{"flag": "true"}, BinaryData: map[string][]byte{"blob": {0xff, 0}}}
	c := Clients{Kube: fake.NewClientset(cm)}
	run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"}}
	for key, want := range map[string]string{"flag": "true", "blob": string([]byte{0xff, 0})} {
		var out bytes.Buffer
		if err := Cat(context.Background(), c, Fetch{}, run, Entry{Location: "configmap/outputs:" + key, SHA256: digest(want)}, &out); err != nil || out.String() != want {
			t.Errorf("Cat(%s) = %q, %v; want %q", key, out.String(), err, want)
		}
	}
	if err := Cat(context.Background(), c, Fetch{}, run, Entry{Location: "configmap/outputs:gone", SHA256: digest("")}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `has no key "gone"`) {
		t.Errorf("Cat of a missing key = %v, want an error naming it", err)
	}
}

func TestFind(t *testing.T) {
	entries := []Entry{{Task: "a", Result: "model"}, {Task: "b", Result: "model"}, {Task: "b", Result: "log"}}
	if e, err := Find(entries, "b.model"); err != nil || e.Task != "b" {
		t.Errorf("Find(b.model) = %+v, %v", e, err)
	}
	if e, err := Find(entries, "log"); err != nil || e.Task != "b" {
		t.Errorf("Find(log) = %+v, %v", e, err)
	}
	for name, want := range map[string]string{"model": "is in 2 tasks", "c.model": "no materialized result"} {
		if _, err := Find(entries, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Find(%s) = %v, want %q", name, err, want)
		}
	}
}
