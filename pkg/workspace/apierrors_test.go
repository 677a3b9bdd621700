package workspace

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	quotaConflict := apierrors.NewConflict(schema.GroupResource{Resource: "resourcequotas"}, "compute", errors.New("the object has been modified"))
	webhook := apierrors.NewInternalError(errors.New(`failed calling webhook "policy.example.com": context deadline exceeded`))
	for _, tc := range []struct {
		name   string
		err    error
		kind   outcome.Kind
		reason reasons.Reason
		after  time.Duration
	}{
		{"forbidden", apierrors.NewForbidden(gr, "p", errors.New("violates PodSecurity")), outcome.Retryable, reasons.ReaderRefused, 0},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p", nil), outcome.Retryable, reasons.ReaderRefused, 0},
		{"too large", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), outcome.Retryable, reasons.ReaderRefused, 0},
		{"namespace gone", apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "ns"), outcome.Retryable, reasons.ReaderRefused, 0},
		{"quota", apierrors.NewForbidden(gr, "p", errors.New("exceeded quota: compute")), outcome.Waiting, reasons.ReaderQuotaExceeded, RefusedRecheck},
		{"quota conflict", quotaConflict, outcome.Waiting, reasons.ReaderCreateRetrying, RefusedRecheck},
		{"webhook failed", webhook, outcome.Waiting, reasons.ReaderCreateRetrying, RefusedRecheck},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), outcome.Waiting, reasons.ReaderCreateRetrying, RefusedRecheck},
		{"throttled longer", apierrors.NewTooManyRequests("slow down", 30), outcome.Waiting, reasons.ReaderCreateRetrying, 30 * time.Second},
		{"server timeout", apierrors.NewServerTimeout(gr, "create", 1), outcome.Waiting, reasons.ReaderCreateRetrying, RefusedRecheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.err, "creating %q", "p")
			o := outcome.As(err)
			if o == nil || o.Kind != tc.kind || o.Reason != tc.reason || o.RecheckAfter != tc.after {
				t.Fatalf("Classify(%v) = %#v, want kind %d reason %s recheck %s", tc.err, o, tc.kind, tc.reason, tc.after)
			}
			if want := `creating "p": ` + tc.err.Error(); o.Message != want {
				t.Errorf("message %q, want the server's words %q", o.Message, want)
			}
		})
	}
	network := errors.New("connection refused")
	if err := Classify(network, "creating %q", "p"); outcome.As(err) != nil || !errors.Is(err, network) || !strings.Contains(err.Error(), `creating "p"`) {
		t.Errorf("Classify(%v) = %v, want a plain error the work queue retries, the cause kept", network, err)
	}
}
