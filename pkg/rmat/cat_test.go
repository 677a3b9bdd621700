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

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
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
			err := Cat(context.Background(), Clients{}, Fetch{}, run, Entry{Task: "t", Result: "status", Location: "status", SHA256: digest(tc.file), fileSHA256: digest(tc.file)}, &out)
			switch {
			case tc.mismatch && !errors.Is(err, ErrMismatch):
				t.Errorf("Cat = %v, want ErrMismatch", err)
			case !tc.mismatch && (err != nil || out.String() != tc.file):
				t.Errorf("Cat = %q, %v; want %q", out.String(), err, tc.file)
			}
		})
	}
}

// From a ConfigMap binding: a key, a binary key, a key its items map to
// another path, a projection's source file checked against the file's
// digest, an inline array read from the file when the status holds its
// JSON, and a key no longer there.
func TestCatConfigMap(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outputs"},
		Data:       map[string]string{"flag": "true", "metrics": `{"accuracy": 0.93, "loss": 0.1}`, "list": "a\nb\n", "renamed": "moved"},
		BinaryData: map[string][]byte{"blob": {0xff, 0}}}
	bind := v1beta1.WorkspaceBinding{Name: "data", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "outputs"}}}
	mapped := bind
	mapped.ConfigMap = bind.ConfigMap.DeepCopy()
	mapped.ConfigMap.Items = []corev1.KeyToPath{{Key: "renamed", Path: "out/moved"}}
	ref := func(name, file, content string) resultmaterialize.Row {
		return resultmaterialize.Row{Name: name, Path: file, Size: int64(len(content)), SHA256: digest(content), Reason: resultmaterialize.Reference}
	}
	truncated := resultmaterialize.Row{Name: "accuracy", Path: "metrics", Size: 4, SHA256: digest("0.93"), Inline: true, Reason: resultmaterialize.Truncated,
		Source: resultmaterialize.Source{Path: "metrics", Size: 32, SHA256: digest(`{"accuracy": 0.93, "loss": 0.1}`)}}
	array := resultmaterialize.Row{Name: "list", Path: "list", Size: 4, SHA256: digest("a\nb\n"), Inline: true, Reason: resultmaterialize.Inline}
	run := materializeRun(t, "r", "t", bind, corev1.ConditionTrue, ref("flag", "flag", "true"), ref("blob", "blob", string([]byte{0xff, 0})),
		truncated, array, ref("gone", "gone", ""))
	run.Status.Results = []v1beta1.CustomRunResult{{Name: "list", Value: `["a","b"]`}}
	moved := materializeRun(t, "m", "m", mapped, corev1.ConditionTrue, ref("moved", "out/moved", "moved"))
	c := Clients{Kube: fake.NewClientset(cm)}
	entries, err := List(context.Background(), c, []v1beta1.CustomRun{*run, *moved})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"flag": "true", "blob": string([]byte{0xff, 0}), "accuracy": `{"accuracy": 0.93, "loss": 0.1}`, "list": "a\nb\n", "moved": "moved"} {
		e, err := Find(entries, name)
		if err != nil {
			t.Fatal(err)
		}
		owner := run
		if name == "moved" {
			owner = moved
		}
		var out bytes.Buffer
		if err := Cat(context.Background(), c, Fetch{}, owner, e, &out); err != nil || out.String() != want {
			t.Errorf("Cat(%s) = %q, %v; want %q", name, out.String(), err, want)
		}
	}
	// An inline projection whose status value is not the published one is
	// a mismatch, never its source document checked against the file.
	projected := resultmaterialize.Row{Name: "acc", Path: "metrics", Size: 4, SHA256: digest("0.93"), Inline: true, Reason: resultmaterialize.Inline,
		Source: resultmaterialize.Source{Path: "metrics", Size: 32, SHA256: digest(`{"accuracy": 0.93, "loss": 0.1}`)}}
	edited := materializeRun(t, "p", "p", bind, corev1.ConditionTrue, projected)
	edited.Status.Results = []v1beta1.CustomRunResult{{Name: "acc", Value: "0.99"}}
	pe, err := List(context.Background(), c, []v1beta1.CustomRun{*edited})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := Cat(context.Background(), c, Fetch{}, edited, pe[0], &got); !errors.Is(err, ErrMismatch) || got.String() != "0.99" {
		t.Errorf("Cat of an edited projection = %q, %v; want its status value and ErrMismatch", got.String(), err)
	}
	e, err := Find(entries, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := Cat(context.Background(), c, Fetch{}, run, e, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `no longer holds "gone"`) {
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
