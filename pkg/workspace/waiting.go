package workspace

import (
	"fmt"
	"time"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	corev1 "k8s.io/api/core/v1"
)

// QuietStart is how long a reader pod may be Pending for an ordinary
// reason (not scheduled yet, its container being created) before the
// run's condition says it waits for the pod: most reader pods start
// sooner, and each change of the condition is a status write.
const QuietStart = 10 * time.Second

// pending is the wait for a reader pod that has not started, with left
// until reader-start-timeout. What the scheduler or the kubelet says goes
// on the run's condition at once when it keeps the pod from starting (it
// cannot be placed, its image cannot be pulled), and after QuietStart
// when it is the ordinary start.
func pending(pod *corev1.Pod, waited, left time.Duration) error {
	if !held(pod) && waited < QuietStart {
		return outcome.Wait(min(QuietStart-waited, left))
	}
	return outcome.WaitOn(reasons.ReaderPending, left, "reader pod %q is Pending: %s", pod.Name, pendingText(pod))
}

// held reports whether the scheduler or the kubelet says what keeps the
// pod from starting, beyond the ordinary steps of starting it.
func held(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return true
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			return true
		}
	}
	return false
}

// pendingText is why the pod has not started: the scheduler's message or
// a container's waiting reason (an image that cannot be pulled). It names
// no time, so a pod that stays as it is gives the same text.
func pendingText(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue && c.Message != "" {
			return fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Message != "" {
			return fmt.Sprintf("%s: %s", w.Reason, w.Message)
		}
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
	}
	return "no reason given by the scheduler or kubelet"
}

// unreported is the wait for a reader pod whose node has not reported the
// reader container running or finished (phase Unknown, or Running
// without the container's state), with left before the attempt fails.
func unreported(pod *corev1.Pod, left time.Duration) error {
	why := ""
	if pod.Status.Reason != "" || pod.Status.Message != "" {
		why = fmt.Sprintf(" (%s: %s)", pod.Status.Reason, pod.Status.Message)
	}
	return outcome.WaitOn(reasons.ReaderStatusUnknown, left, "reader pod %q is %s and its node has not reported the reader container running or finished%s",
		pod.Name, pod.Status.Phase, why)
}
