package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
)

// Shape of the chaos run.
const (
	chaosWaves       = 4
	chaosWaveGap     = 15 * time.Second
	chaosVolumeRuns  = 100
	restartRuns      = 300
	restartVolume    = 20
	deletedPodRuns   = 5
	chaosRunTimeout  = 15 * time.Minute
	leftoverDeadline = time.Minute
)

// chaos runs ConfigMap and PVC runs while it kills the controller's
// leaders, restarts the API server mid-burst, and deletes reader pods by
// hand; then it checks every run's outcome and the reader pods.
func (e *env) chaos(ctx context.Context, scale int, restart string) (*report, error) {
	r := &report{title: fmt.Sprintf("ResultMaterialize chaos run, %s", time.Now().UTC().Format(time.RFC3339))}
	var failures []string
	// Whatever happens later, what failed so far is in the report.
	defer func() {
		for _, f := range failures {
			r.note("FAILED: %s", f)
		}
	}()

	stop := make(chan struct{})
	kills := make(chan []kill, 1)
	go func() { kills <- e.killLeaders(ctx, stop) }()
	start := time.Now()
	var cm, pvc []string
	for w := range chaosWaves {
		if w > 0 {
			time.Sleep(chaosWaveGap)
		}
		c := names(fmt.Sprintf("cm-w%d", w), scale/chaosWaves)
		p := names(fmt.Sprintf("pvc-w%d", w), chaosVolumeRuns/chaosWaves)
		if err := burst(ctx, c, func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, false, 0)) }); err != nil {
			return r, err
		}
		if err := burst(ctx, p, func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, true, 0)) }); err != nil {
			return r, err
		}
		cm, pvc = append(cm, c...), append(pvc, p...)
	}
	failures = append(failures, e.check(ctx, append(cm, pvc...))...)
	close(stop)
	killed := <-kills
	r.row(fmt.Sprintf("%d ConfigMap + %d PVC runs in %d waves, a leader killed every 10-20 s", len(cm), len(pvc), chaosWaves),
		fmt.Sprint(len(cm)+len(pvc)), "-", "-", secs(time.Since(start)), fmt.Sprintf("%d kills", len(killed)), "all Succeeded, right results")
	hows := map[string]int{}
	var list []string
	for _, k := range killed {
		hows[k.how]++
		list = append(list, fmt.Sprintf("%s %s at +%s", k.how, k.pod, secs(k.at.Sub(start))))
	}
	r.note("kills: %s", strings.Join(list, "; "))
	if hows["graceful"] == 0 || hows["forced"] == 0 {
		failures = append(failures, fmt.Sprintf("the runs were done before a graceful and a forced kill happened (%v): nothing was tested", hows))
	}
	if restart != "" {
		c, p := names("cm-restart", restartRuns), names("pvc-restart", restartVolume)
		start := time.Now()
		var wg sync.WaitGroup
		var restartErr error
		wg.Go(func() {
			time.Sleep(2 * time.Second)
			out, err := exec.CommandContext(ctx, "sh", "-c", restart).CombinedOutput()
			if err != nil {
				restartErr = fmt.Errorf("restarting the API server: %w: %s", err, out)
			}
		})
		if err := burst(ctx, c, func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, false, 0)) }); err != nil {
			return r, err
		}
		if err := burst(ctx, p, func(ctx context.Context, n string) error { return e.createRun(ctx, customRun(n, true, 0)) }); err != nil {
			return r, err
		}
		wg.Wait()
		if restartErr != nil {
			return r, restartErr
		}
		failures = append(failures, e.check(ctx, append(c, p...))...)
		r.row(fmt.Sprintf("%d ConfigMap + %d PVC runs, API server restarted 2 s in", len(c), len(p)), fmt.Sprint(len(c)+len(p)), "-", "-", secs(time.Since(start)), "-", "all Succeeded, right results")
	} else {
		r.note("API server restart skipped: no -restart-apiserver command")
	}

	deleted, err := e.deleteReaders(ctx)
	if err != nil {
		return r, err
	}
	failures = append(failures, deleted...)
	r.row(fmt.Sprintf("reader pod deleted by hand, %d runs with retries 1 and %d with retries 0", deletedPodRuns, deletedPodRuns), fmt.Sprint(2*deletedPodRuns), "-", "-", "-",
		"-", "retried and Succeeded; or Failed ReaderFailed")

	for _, f := range e.track.flipped() {
		failures = append(failures, fmt.Sprintf("%s was seen done and then not done again", f))
	}
	attempts, mostCreated, mostAlive := e.track.attempts()
	r.row("reader pods per attempt", fmt.Sprint(attempts), "-", "-", fmt.Sprintf("most created %d, most alive at once %d", mostCreated, mostAlive), "-", "1")
	left, err := e.leftovers(ctx)
	if err != nil {
		return r, err
	}
	r.row("reader pods left over", "-", "-", "-", fmt.Sprint(left), "-", "0")
	if mostCreated > 1 || mostAlive > 1 {
		failures = append(failures, fmt.Sprintf("an attempt had %d reader pods (%d alive at once)", mostCreated, mostAlive))
	}
	if left > 0 {
		failures = append(failures, fmt.Sprintf("%d reader pods left over", left))
	}
	if len(failures) > 0 {
		return r, fmt.Errorf("%d failures", len(failures))
	}
	r.note("every run ended as expected")
	return r, nil
}

// kill is one deletion of a leading replica.
type kill struct {
	pod, how string
	at       time.Time
}

// killLeaders deletes a pod holding a bucket's lease every 10 to 20
// seconds until stop: odd kills are graceful (the leases are released at
// once), even ones forced with no grace period (the leases expire). A
// lease still naming a pod that is gone is passed over.
func (e *env) killLeaders(ctx context.Context, stop <-chan struct{}) []kill {
	var killed []kill
	for i := 1; ; {
		select {
		case <-stop:
			return killed
		case <-ctx.Done():
			return killed
		case <-time.After(10*time.Second + rand.N(10*time.Second)):
		}
		pod := e.leader(ctx)
		if pod == "" {
			continue
		}
		opts, how := metav1.DeleteOptions{}, "graceful"
		if i%2 == 0 {
			opts, how = metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, "forced"
		}
		if err := e.kube.CoreV1().Pods(controllerNamespace).Delete(ctx, pod, opts); err != nil {
			continue
		}
		killed = append(killed, kill{pod: pod, how: how, at: time.Now()})
		i++
	}
}

// leader is a live controller pod that holds a bucket's lease, or "".
func (e *env) leader(ctx context.Context) string {
	leases, err := e.kube.CoordinationV1().Leases(controllerNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	pods, err := e.kube.CoreV1().Pods(controllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: controllerSelector})
	if err != nil {
		return ""
	}
	live := map[string]bool{}
	for _, p := range pods.Items {
		live[p.Name] = p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
	}
	var holders []string
	for _, l := range leases.Items {
		h := strings.SplitN(ptr.Deref(l.Spec.HolderIdentity, ""), "_", 2)[0]
		if strings.Contains(l.Name, "resultmaterialize") && live[h] {
			holders = append(holders, h)
		}
	}
	if len(holders) == 0 {
		return ""
	}
	return holders[rand.N(len(holders))]
}

// check waits for the runs and returns what is wrong with them: not done,
// failed, or a result other than the file's content.
func (e *env) check(ctx context.Context, runs []string) []string {
	keys := make([]string, len(runs))
	for i, n := range runs {
		keys[i] = key(kindRun, n)
	}
	var out []string
	missing := e.waitAll(ctx, keys, chaosRunTimeout)
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("%d runs not done after %s, first %s", len(missing), chaosRunTimeout, missing[0]))
	}
	list, err := e.tekton.TektonV1beta1().CustomRuns(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return append(out, fmt.Sprintf("listing the runs: %v", err))
	}
	byName := map[string]*v1beta1.CustomRun{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	for _, n := range runs {
		run, ok := byName[n]
		if !ok {
			out = append(out, fmt.Sprintf("%s: not found", n))
			continue
		}
		if c := run.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
			out = append(out, fmt.Sprintf("%s not Succeeded: %v", n, c))
			continue
		}
		if v := value(run, resultName); v != resultValue {
			out = append(out, fmt.Sprintf("%s: result %s = %q, want %q", n, resultName, v, resultValue))
		}
	}
	return out
}

func value(run *v1beta1.CustomRun, name string) string {
	for _, res := range run.Status.Results {
		if res.Name == name {
			return res.Value
		}
	}
	return ""
}

// deleteReaders deletes each first-attempt reader pod of some PVC runs as
// soon as the watch shows it, and checks that runs with a retry left
// succeed on their second attempt and runs without fail naming the pod.
func (e *env) deleteReaders(ctx context.Context) ([]string, error) {
	retried, final := names("deleted-retry", deletedPodRuns), names("deleted-final", deletedPodRuns)
	for _, n := range retried {
		if err := e.createRun(ctx, customRun(n, true, 1)); err != nil {
			return nil, err
		}
	}
	for _, n := range final {
		if err := e.createRun(ctx, customRun(n, true, 0)); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, n := range slices.Concat(retried, final) {
		pod := n + "-reader-0"
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			_, seen := e.track.stagesOf(pod)
			return seen, nil
		})
		if err != nil {
			out = append(out, fmt.Sprintf("%s: reader pod %s never seen", n, pod))
			continue
		}
		if err := e.kube.CoreV1().Pods(e.ns).Delete(ctx, pod, metav1.DeleteOptions{}); err != nil {
			out = append(out, fmt.Sprintf("%s: deleting %s: %v", n, pod, err))
		}
	}
	keys := make([]string, 0, 2*deletedPodRuns)
	for _, n := range slices.Concat(retried, final) {
		keys = append(keys, key(kindRun, n))
	}
	if missing := e.waitAll(ctx, keys, 5*time.Minute); len(missing) > 0 {
		return append(out, fmt.Sprintf("%d runs with a deleted reader pod never ended (hung), first %s", len(missing), missing[0])), nil
	}
	retriedOK := 0
	for _, n := range retried {
		run, err := e.tekton.TektonV1beta1().CustomRuns(e.ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		c := run.Status.GetCondition(apis.ConditionSucceeded)
		if !c.IsTrue() || value(run, resultName) != resultValue {
			out = append(out, fmt.Sprintf("%s: %s %s %q after %d retries, want Succeeded on the second attempt", n, c.Status, c.Reason, c.Message, len(run.Status.RetriesStatus)))
		}
		if len(run.Status.RetriesStatus) == 1 {
			retriedOK++
		}
	}
	if retriedOK == 0 {
		out = append(out, "every run with a retry was read before its pod was deleted: nothing was tested")
	}
	early := 0
	for _, n := range final {
		run, err := e.tekton.TektonV1beta1().CustomRuns(e.ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		c := run.Status.GetCondition(apis.ConditionSucceeded)
		switch {
		case c.IsTrue() && value(run, resultName) == resultValue:
			// Its output was read before the delete reached the pod.
			early++
		case c.IsTrue() || c.Reason != "ReaderFailed" || !strings.Contains(c.Message, n+"-reader-0"):
			out = append(out, fmt.Sprintf("%s: %s %s %q, want Failed ReaderFailed naming the pod", n, c.Status, c.Reason, c.Message))
		}
	}
	if early == len(final) {
		out = append(out, "every run without retries was read before its pod was deleted: nothing was tested")
	}
	return out, nil
}

// leftovers waits for the reader pods of finished runs to be cleaned up
// and returns how many remain.
func (e *env) leftovers(ctx context.Context) (int, error) {
	left := 0
	err := wait.PollUntilContextTimeout(ctx, time.Second, leftoverDeadline, true, func(ctx context.Context) (bool, error) {
		pods, err := e.kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: workspace.PodSelector})
		if err != nil {
			return false, err
		}
		left = len(pods.Items)
		return left == 0, nil
	})
	if err != nil && left == 0 {
		return 0, err
	}
	return left, nil
}
