package workspace

import (
	"errors"
	"testing"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	for _, tc := range []struct {
		name    string
		err     error
		refused bool
	}{
		{"forbidden", apierrors.NewForbidden(gr, "p", errors.New("violates PodSecurity")), true},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p", nil), true},
		{"too large", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), true},
		{"namespace gone", apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "ns"), true},
		{"quota", apierrors.NewForbidden(gr, "p", errors.New("exceeded quota: compute")), false},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), false},
		{"server timeout", apierrors.NewServerTimeout(gr, "create", 1), false},
		{"internal", apierrors.NewInternalError(errors.New("etcd leader changed")), false},
		{"network", errors.New("connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.err, "creating %q", "p")
			o := outcome.As(err)
			if tc.refused != (o != nil && o.Kind == outcome.Retryable && o.Reason == reasons.ReaderRefused) {
				t.Errorf("Classify(%v) = %v, want refused %v", tc.err, err, tc.refused)
			}
			if !tc.refused && !errors.Is(err, tc.err) {
				t.Errorf("Classify(%v) = %v, want the API error kept", tc.err, err)
			}
		})
	}
}
