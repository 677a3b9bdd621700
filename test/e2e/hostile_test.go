//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"knative.dev/pkg/apis"
)

// hostileFiles is what a hostile producer leaves in the workspace: a
// symlink inside it, one to an absolute path, one that climbs out of it
// to where a sibling prefix of the bucket would be, and a directory.
const hostileFiles = "printf v > /data/real && ln -s real /data/inner && ln -s /etc/passwd /data/escape && " +
	"ln -s ../outside/secret /data/climb && mkdir /data/adir"

// hostileCase is one result a run asks for, and what it must end as.
type hostileCase struct {
	run, result       string
	status            corev1.ConditionStatus
	reason, wantValue string
}

var hostileCases = []hostileCase{
	{run: "inner", result: "inner", status: corev1.ConditionTrue, reason: "Materialized", wantValue: "v"},
	{run: "escape", result: "escape", status: corev1.ConditionFalse, reason: "ResultUnreadable"},
	{run: "climb", result: "climb", status: corev1.ConditionFalse, reason: "ResultUnreadable"},
	{run: "adir", result: "adir", status: corev1.ConditionFalse, reason: "ResultUnreadable"},
	{run: "missing", result: "missing", status: corev1.ConditionFalse, reason: "ResultMissing"},
	{run: "outside", result: "secret=outside/secret", status: corev1.ConditionFalse, reason: "ResultMissing"},
	{run: "dotdot", result: "secret=../outside/secret", status: corev1.ConditionFalse, reason: "InvalidSpec"},
}

// TestHostileInputsOnObjectStore writes the same hostile files through an
// s3fs mount (the project's own driver name) and on local-path: each run
// ends the same way on both. Through s3fs a symlink is an object whose body
// is its target, which the test reads through the S3 API; a secret put
// beside the claim's prefix in the bucket is never read: the mount's root
// is the prefix, so outside/secret is missing from the workspace.
func TestHostileInputsOnObjectStore(t *testing.T) {
	outcomes := map[string]map[string]string{}
	for _, class := range []string{classLocal, classS3fs} {
		t.Run(class, func(t *testing.T) { outcomes[class] = hostile(t, class) })
	}
	if len(outcomes) == 2 {
		for _, hc := range hostileCases {
			if a, b := outcomes[classLocal][hc.run], outcomes[classS3fs][hc.run]; a != b {
				t.Errorf("run %s: %s on local-path, %s on the object store", hc.run, a, b)
			}
		}
	}
}

func hostile(t *testing.T, class string) map[string]string {
	ctx, c, ns := setup(t)
	planted := "planted-" + rand.String(12)
	var client *s3.Client
	if class != classLocal {
		client = objectStore(ctx, t, c, class)
	}
	createClaim(ctx, t, c, ns, class)
	writeFiles(ctx, t, c, ns, hostileFiles)
	if client != nil {
		bucket, prefix, err := claimPrefix(ctx, c, ns, "data")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("outside/secret"), Body: strings.NewReader(planted)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("outside/secret")})
		})
		symlinkObject(t, client, bucket, prefix+"/escape", "/etc/passwd")
	}
	var docs []string
	for _, hc := range hostileCases {
		docs = append(docs, claimRun(hc.run, "data", fmt.Sprintf("%q", hc.result)))
	}
	outcomes := map[string]string{}
	for i, run := range createAll(ctx, t, c, ns, docs) {
		hc := hostileCases[i]
		cond := run.Status.GetCondition(apis.ConditionSucceeded)
		got := results(run)
		outcomes[hc.run] = fmt.Sprintf("%s %s %q %q", cond.Status, cond.Reason, cond.Message, got)
		t.Logf("%s: %s %s %q", hc.run, cond.Status, cond.Reason, cond.Message)
		if cond.Status != hc.status || cond.Reason != hc.reason {
			t.Errorf("run %s on %s: %s %s %q, want %s %s", hc.run, class, cond.Status, cond.Reason, cond.Message, hc.status, hc.reason)
		}
		if hc.wantValue != "" && got[hc.result] != hc.wantValue {
			t.Errorf("run %s on %s: value %q, want %q", hc.run, class, got[hc.result], hc.wantValue)
		}
		if strings.Contains(cond.Message+fmt.Sprint(got), planted) || strings.Contains(fmt.Sprint(got), "root:") {
			t.Errorf("run %s on %s shows what is outside the workspace: %q %v", hc.run, class, cond.Message, got)
		}
	}
	return outcomes
}

// symlinkObject checks that s3fs stored a symlink as an object whose body
// is the target and whose mode metadata says symlink.
func symlinkObject(t *testing.T, client *s3.Client, bucket, key, target string) {
	t.Helper()
	out, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	mode, _ := strconv.ParseUint(out.Metadata["mode"], 10, 32)
	if string(body) != target || mode&0o170000 != 0o120000 {
		t.Errorf("s3://%s/%s: body %q, mode %o (metadata %v); want s3fs's symlink object: body %q, mode 0120xxx", bucket, key, body, mode, out.Metadata, target)
	}
}
