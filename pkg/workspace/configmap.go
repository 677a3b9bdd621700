package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ConfigMapSource reads configMap bindings through the API, laying out
// keys as the kubelet would mount them: under their key, or under the
// binding's items paths, below the binding's subPath.
type ConfigMapSource struct {
	Kube kubernetes.Interface
}

var _ Source = (*ConfigMapSource)(nil)

// Read implements Source.
func (s *ConfigMapSource) Read(ctx context.Context, run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, reqs []materialize.FileRequest) ([]materialize.FileReport, error) {
	ref := b.ConfigMap
	cm, err := s.Kube.CoreV1().ConfigMaps(run.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	files := map[string][]byte{}
	switch {
	case apierrors.IsNotFound(err):
		if ref.Optional == nil || !*ref.Optional {
			return nil, &materialize.Failure{Reason: reasons.WorkspaceSourceNotFound,
				Message: fmt.Sprintf("workspace %q is bound to configMap %q, which does not exist in namespace %q", b.Name, ref.Name, run.Namespace)}
		}
	case err != nil:
		return nil, fmt.Errorf("getting configMap %s/%s: %w", run.Namespace, ref.Name, err)
	default:
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			files[k] = v
		}
	}
	if len(ref.Items) > 0 {
		mapped := map[string][]byte{}
		for _, item := range ref.Items {
			if v, ok := files[item.Key]; ok {
				mapped[path.Clean(item.Path)] = v
			}
		}
		files = mapped
	}
	reports := make([]materialize.FileReport, len(reqs))
	for i, req := range reqs {
		reports[i] = report(files, path.Join(b.SubPath, req.Path), req)
	}
	return reports, nil
}

func report(files map[string][]byte, volPath string, req materialize.FileRequest) materialize.FileReport {
	rep := materialize.FileReport{Path: req.Path}
	content, ok := files[volPath]
	if !ok {
		for p := range files {
			if volPath == "." || strings.HasPrefix(p, volPath+"/") {
				rep.Found = true
				rep.Error = &materialize.FileError{Reason: reasons.ResultUnreadable,
					Message: fmt.Sprintf("%q is a directory, not a regular file", req.Path)}
				return rep
			}
		}
		return rep
	}
	sum := sha256.Sum256(content)
	rep.Found, rep.Size, rep.SHA256 = true, int64(len(content)), hex.EncodeToString(sum[:])
	if rep.Size <= req.Limit || req.KeepOversizeHead {
		rep.Head = content[:min(rep.Size, req.Limit)]
	}
	return rep
}

// Cleanup implements Source: reading a ConfigMap creates nothing.
func (s *ConfigMapSource) Cleanup(context.Context, *v1beta1.CustomRun) error { return nil }
