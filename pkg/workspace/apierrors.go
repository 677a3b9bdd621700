package workspace

import (
	"fmt"
	"strings"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Classify turns an API server's refusal into the attempt's failure,
// quoting the server: Forbidden (Pod Security, RBAC, an admission
// webhook), Invalid (a LimitRange, a malformed image or request), a
// request too large, a missing namespace. An exceeded quota (it frees up
// as other pods finish, as Tekton treats it), throttling, timeouts and
// server errors stay plain errors, which the work queue retries with
// backoff until the run's timeout.
func Classify(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
		return fmt.Errorf("%s: %w", what, err)
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		apierrors.IsRequestEntityTooLargeError(err), apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
		return outcome.Retry(reasons.ReaderRefused, "%s: %v", what, err)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}
