package workspace

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// RefusedRecheck is how soon a run tries again to create a reader pod the
// API server refused for a reason that passes. Nothing tells the
// controller when a quota frees up or a webhook recovers; Tekton looks
// again after a minute for a TaskRun's pod over quota, and a reader pod
// lives seconds, so sooner.
const RefusedRecheck = 10 * time.Second

// Classify turns the API server's answer to a reader pod create into the
// attempt's outcome, quoting the server. A refusal for good fails the
// attempt: Forbidden (Pod Security, RBAC, an admission webhook's denial),
// Invalid (a LimitRange, a malformed image or request), a request too
// large, a missing namespace. A refusal that passes makes the run wait
// and say so, and try again after RefusedRecheck or the delay the server
// asks for: an exceeded quota (it frees up as other pods finish, as Tekton
// treats it), a quota conflict, throttling, a webhook or server that
// failed or timed out. An error the API server did not send (the network,
// the controller's own deadline) stays a plain error, which the work
// queue retries with backoff.
func Classify(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
		return outcome.WaitOn(reasons.ReaderQuotaExceeded, RefusedRecheck, "%s: %v", what, err)
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		apierrors.IsRequestEntityTooLargeError(err), apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
		return outcome.Retry(reasons.ReaderRefused, "%s: %v", what, err)
	case errors.As(err, &status):
		after := RefusedRecheck
		if s, ok := apierrors.SuggestsClientDelay(err); ok {
			after = max(after, time.Duration(s)*time.Second)
		}
		return outcome.WaitOn(reasons.ReaderCreateRetrying, after, "%s: %v", what, err)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}
