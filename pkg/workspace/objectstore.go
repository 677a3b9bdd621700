package workspace

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// ObjectStoreSource reads a persistentVolumeClaim binding straight from the
// S3 bucket behind its CSI volume, with no pod, when a profile of
// object-store-profiles says the volume's mount is exact (a closed file is
// whole in the store). Whatever it cannot read exactly as the mount would
// show it (a symlink object, a mode the reader could not read, an object
// above object-store-max-bytes, a projection it would parse whole above
// the controller's cap, a store it cannot reach) it hands to the reader
// pod, saying why in Found.Fallback.
type ObjectStoreSource struct {
	Kube kubernetes.Interface
	// Memory is the controller-wide budget the heads and projections of
	// a direct read reserve before they read.
	Memory *Memory
	// Streams bounds the objects the controller streams at once, and so
	// its bytes in flight to Streams times the read buffer.
	Streams chan struct{}
	// Pods reads what a direct read cannot.
	Pods Source

	// clients keeps one S3 client, and so one connection pool, per set
	// of credentials.
	clients capped[objectstore.Credentials, *s3.Client]
	// failed remembers why the runs whose direct read met trouble did.
	failed capped[types.UID, string]
	// volumes and secrets keep what the API server said of a PV or a
	// credentials Secret for a few seconds: one run asks for its volume
	// twice (Claims, then Read), and runs on one bucket share a Secret.
	volumes recent[*corev1.PersistentVolume]
	secrets recent[*corev1.Secret]
}

var _ Source = (*ObjectStoreSource)(nil)

// Traits implements Source. A direct read ends within one reconcile and
// makes nothing; a handover asks for the newest run itself (Attempt.Newest)
// before the reader pod's attempt starts.
func (s *ObjectStoreSource) Traits() Traits {
	return Traits{Kinds: []Kind{KindPersistentVolumeClaim}}
}

// Marker implements Source: a direct read records nothing; a handed-over
// attempt is the reader pod's and resumes there.
func (s *ObjectStoreSource) Marker(*v1beta1.CustomRun) string { return "" }

// Cleanup implements Source: a direct read creates nothing.
func (s *ObjectStoreSource) Cleanup(context.Context, *v1beta1.CustomRun) error { return nil }

// direct is what a direct read of one binding needs.
type direct struct {
	store  objectstore.Store
	loc    objectstore.Location
	secret string
	// bucketFromSecret says the bucket is a value of the Secret, which
	// messages must not quote.
	bucketFromSecret bool
}

// Claims implements Claimer: the binding's claim is bound to a CSI volume
// of a driver with a profile whose exactness rule holds for it. Any doubt
// (no profile, a lookup that fails) leaves the binding to the reader pod.
func (s *ObjectStoreSource) Claims(ctx context.Context, ns string, b v1beta1.WorkspaceBinding, cfg *config.Config) bool {
	if len(cfg.ObjectStoreProfiles) == 0 || b.PersistentVolumeClaim == nil {
		return false
	}
	pv, err := s.volume(ctx, ns, b.PersistentVolumeClaim.ClaimName)
	if err != nil {
		return false
	}
	profile, ok := objectstore.For(cfg.ObjectStoreProfiles, pv.Spec.CSI.Driver)
	return ok && profile.IsExact(pv.Spec.CSI)
}

func (s *ObjectStoreSource) volume(ctx context.Context, ns, claim string) (*corev1.PersistentVolume, error) {
	pvc, err := s.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != corev1.ClaimBound {
		return nil, fmt.Errorf("claim %s/%s is not bound", ns, claim)
	}
	pv, err := s.volumes.get(ctx, pvc.Spec.VolumeName, func(ctx context.Context) (*corev1.PersistentVolume, error) {
		return s.Kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	})
	if err != nil {
		return nil, err
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID || pv.Spec.CSI == nil {
		return nil, fmt.Errorf("volume %s is not a CSI volume bound to claim %s/%s", pv.Name, ns, claim)
	}
	return pv, nil
}

// Read implements Source.
// A direct read that met trouble (a store that times out or refuses the
// connection) is remembered for the run, so its next reconcile goes to
// the reader pod at once, even when this one ran out of time.
func (s *ObjectStoreSource) Read(ctx context.Context, a Attempt) (Found, error) {
	cfg := config.FromContext(ctx)
	why, failed := s.failed.get(a.Run.UID)
	if !failed && a.Plan.Export != nil {
		why, failed = "the run exports results to an OCI registry (retain: oci), which its reader pod does", true
	}
	if !failed {
		d, w, err := s.locate(ctx, a, cfg)
		why = w
		if err == nil && why == "" {
			var found Found
			found, why, err = s.read(ctx, a, cfg, d)
			if why == "" {
				return found, err
			}
		}
		if err != nil {
			return Found{}, err
		}
		s.failed.set(a.Run.UID, why, maxFailures)
	}
	if ctx.Err() != nil {
		return Found{}, fmt.Errorf("reading workspace %q from the object store: %s; the reader pod reads it next: %w", a.Binding.Name, why, ctx.Err())
	}
	if err := a.Newest(ctx); err != nil {
		return Found{}, err
	}
	found, err := s.Pods.Read(ctx, a)
	found.Fallback = why
	return found, err
}

// locate finds the binding's bucket, prefix and credentials, or says why it
// reads through the reader pod instead.
func (s *ObjectStoreSource) locate(ctx context.Context, a Attempt, cfg *config.Config) (direct, string, error) {
	b := a.Binding
	pv, err := s.volume(ctx, a.Run.Namespace, b.PersistentVolumeClaim.ClaimName)
	if err != nil {
		return direct{}, fmt.Sprintf("the claim's volume: %v", err), nil
	}
	profile, ok := objectstore.For(cfg.ObjectStoreProfiles, pv.Spec.CSI.Driver)
	if !ok || !profile.IsExact(pv.Spec.CSI) {
		return direct{}, fmt.Sprintf("volume %s is no longer read directly by its profile", pv.Name), nil
	}
	if b.SubPath != "" {
		if _, err := resultmaterialize.CleanPath(b.SubPath); err != nil {
			return direct{}, fmt.Sprintf("subPath: %v", err), nil
		}
	}
	ref := profile.SecretRef(a.Run.Namespace, pv.Spec.CSI)
	switch {
	case ref == nil:
		return direct{}, fmt.Sprintf("volume %s names no %s", pv.Name, profile.Credentials), nil
	case ref.Namespace == a.Run.Namespace && profile.Credentials != objectstore.CredentialsNamespace && profile.Endpoint == "":
		// A Secret of the run's namespace would choose the host the
		// controller connects to.
		return direct{}, fmt.Sprintf("volume %s takes its credentials from the run's namespace and the profile sets no endpoint", pv.Name), nil
	}
	secret, err := s.secrets.get(ctx, ref.Namespace+"/"+ref.Name, func(ctx context.Context) (*corev1.Secret, error) {
		return s.Kube.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	})
	switch {
	case apierrors.IsNotFound(err):
		return direct{}, fmt.Sprintf("the credentials Secret %s/%s does not exist", ref.Namespace, ref.Name), nil
	case apierrors.IsForbidden(err):
		return direct{}, fmt.Sprintf("the controller may not read the credentials Secret %s/%s (docs/object-storage.md has the Role)", ref.Namespace, ref.Name), nil
	case err != nil:
		return direct{}, "", fmt.Errorf("reading the credentials Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		data[k] = string(v)
	}
	loc, err := profile.Locate(pv.Spec.CSI, data)
	if err != nil {
		return direct{}, err.Error(), nil
	}
	creds, err := profile.Keys(data)
	if err != nil {
		return direct{}, fmt.Sprintf("Secret %s/%s: %v", ref.Namespace, ref.Name, err), nil
	}
	store := objectstore.Store{Client: s.client(creds), Bucket: loc.Bucket, Reader: cfg.ReaderUID}
	return direct{store: store, loc: loc, secret: ref.Namespace + "/" + ref.Name, bucketFromSecret: profile.Bucket == objectstore.BucketFromSecret}, "", nil
}
