package workspace

import (
	"context"
	"fmt"
	"io"
	"path"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	clients clientCache
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
}

// Claims implements Claimer: the binding's claim is bound to a CSI volume
// of a driver with a profile whose exactness rule holds for it. Any doubt
// (no profile, a lookup that fails) leaves the binding to the reader pod.
func (s *ObjectStoreSource) Claims(ctx context.Context, ns string, b v1beta1.WorkspaceBinding, cfg *config.Config) bool {
	if len(cfg.ObjectStoreProfiles) == 0 || b.PersistentVolumeClaim == nil {
		return false
	}
	pv, err := s.volume(ctx, ns, b.PersistentVolumeClaim.ClaimName)
	if err != nil || pv.Spec.CSI == nil {
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
	return s.Kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
}

// Read implements Source.
func (s *ObjectStoreSource) Read(ctx context.Context, a Attempt) (Found, error) {
	cfg := config.FromContext(ctx)
	d, why, err := s.locate(ctx, a, cfg)
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
	loc, err := profile.Locate(pv.Spec.CSI)
	if err != nil {
		return direct{}, err.Error(), nil
	}
	ref := profile.SecretRef(a.Run.Namespace, pv.Spec.CSI)
	if ref == nil {
		return direct{}, fmt.Sprintf("volume %s names no %s", pv.Name, profile.Credentials), nil
	}
	secret, err := s.Kube.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return direct{}, fmt.Sprintf("reading the credentials Secret %s/%s: %v", ref.Namespace, ref.Name, err), nil
		}
		return direct{}, "", fmt.Errorf("reading the credentials Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		data[k] = string(v)
	}
	creds, err := profile.Keys(data)
	if err != nil {
		return direct{}, fmt.Sprintf("Secret %s/%s: %v", ref.Namespace, ref.Name, err), nil
	}
	return direct{store: objectstore.Store{Client: s.clients.get(creds), Bucket: loc.Bucket}, loc: loc, secret: ref.Namespace + "/" + ref.Name}, "", nil
}

// read reads every result of the plan from the store, or says why the
// reader pod must.
func (s *ObjectStoreSource) read(ctx context.Context, a Attempt, cfg *config.Config, d direct) (Found, string, error) {
	reqs := a.Plan.Requests()
	reports := make([]protocol.FileReport, len(reqs))
	objects := make([]objectstore.Object, len(reqs))
	keys := make([]string, len(reqs))
	var need int64
	for i, req := range reqs {
		reports[i] = protocol.FileReport{Path: req.Path}
		clean, err := resultmaterialize.CleanPath(path.Join(a.Binding.SubPath, req.Path))
		if err != nil {
			reports[i] = unreadableReport(reports[i], err.Error())
			continue
		}
		keys[i] = d.loc.Key(clean)
		o, err := d.store.Stat(ctx, keys[i])
		if err != nil {
			why, err := storeTrouble(d, err)
			return Found{}, why, err
		}
		switch {
		case o.Kind == objectstore.Doubtful:
			return Found{}, fmt.Sprintf("%q: %s", req.Path, o.Why), nil
		case o.Kind == objectstore.Regular && o.Size > cfg.ObjectStoreMaxBytes:
			return Found{}, fmt.Sprintf("%q is %d bytes, above %s (%d)", req.Path, o.Size, config.KeyObjectStoreMaxBytes, cfg.ObjectStoreMaxBytes), nil
		case o.Kind == objectstore.Regular && req.Projection != nil && o.Size > ControllerMaxProjection:
			return Found{}, fmt.Sprintf("%q is %d bytes, above the %d a projection reads in the controller", req.Path, o.Size, ControllerMaxProjection), nil
		}
		objects[i] = o
		need += req.WantHead(o.Size)
	}
	release, ok := s.Memory.Hold(need)
	if !ok {
		return Found{}, "", outcome.WaitOn(reasons.ControllerMemoryBusy, memoryRecheck,
			"workspace %q waits for %d bytes of the controller's memory budget of %d bytes", a.Binding.Name, need, s.Memory.Size())
	}
	defer release()
	files := map[string][]byte{}
	buf := make([]byte, readBuffer)
	for i, req := range reqs {
		o := objects[i]
		switch {
		case reports[i].Error != nil || o.Kind == objectstore.Missing:
		case o.Kind == objectstore.Directory:
			reports[i] = unreadableReport(reports[i], fmt.Sprintf("%q is a directory, not a regular file", req.Path))
		case req.Projection != nil:
			volPath := path.Join(a.Binding.SubPath, req.Path)
			if _, done := files[volPath]; done {
				continue
			}
			content, err := s.fetch(ctx, d, keys[i], o)
			if err != nil {
				why, err := storeTrouble(d, err)
				return Found{}, why, err
			}
			files[volPath] = content
		default:
			rep, err := s.describe(ctx, d, keys[i], o, req, buf)
			if err != nil {
				why, err := storeTrouble(d, err)
				return Found{}, why, err
			}
			reports[i] = rep
		}
	}
	if err := projectFiles(ctx, s.Memory, 0, a.Binding, reqs, files, reports); err != nil {
		return Found{}, "", err
	}
	return Found{Plan: a.Plan, Reports: reports, ReadBy: ReadByObjectStore}, "", nil
}

// readBuffer is the read size of a streamed object.
const readBuffer = 256 << 10

// describe streams one object through the report's digest, keeping its head.
func (s *ObjectStoreSource) describe(ctx context.Context, d direct, key string, o objectstore.Object, req protocol.FileRequest, buf []byte) (protocol.FileReport, error) {
	body, err := s.open(ctx, d, key, o)
	if err != nil {
		return protocol.FileReport{}, err
	}
	defer body.Close()
	return protocol.Describe(body, o.Size, req, buf, nil)
}

// fetch reads a whole object a projection parses, at most
// ControllerMaxProjection bytes.
func (s *ObjectStoreSource) fetch(ctx context.Context, d direct, key string, o objectstore.Object) ([]byte, error) {
	body, err := s.open(ctx, d, key, o)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, ControllerMaxProjection))
}

// stream is an object's body holding one of the controller's streams
// until it is closed.
type stream struct {
	io.ReadCloser
	release func()
}

func (s stream) Close() error {
	defer s.release()
	return s.ReadCloser.Close()
}

// open takes one of the controller's streams, waiting for it no longer
// than the reconcile, and opens the object.
func (s *ObjectStoreSource) open(ctx context.Context, d direct, key string, o objectstore.Object) (io.ReadCloser, error) {
	select {
	case s.Streams <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-s.Streams }
	body, err := d.store.Open(ctx, key, o)
	if err != nil {
		release()
		return nil, err
	}
	return stream{ReadCloser: body, release: release}, nil
}

// storeTrouble sorts a store error: refused credentials fail the attempt
// naming the Secret, never its content; anything else (a refused or
// unreachable endpoint, an object changed since its HEAD) hands the read
// to the reader pod.
func storeTrouble(d direct, err error) (string, error) {
	if objectstore.Denied(err) {
		return "", outcome.Retry(reasons.ObjectStoreCredentialsRefused,
			"the object store refused the credentials of Secret %s for bucket %q: %s", d.secret, d.loc.Bucket, objectstore.Code(err))
	}
	return fmt.Sprintf("the object store: %v", err), nil
}

func unreadableReport(rep protocol.FileReport, msg string) protocol.FileReport {
	rep.Found = true
	rep.Error = &protocol.FileError{Reason: reasons.ResultUnreadable, Message: msg}
	return rep
}

// maxClients bounds the S3 clients kept: a rotated key makes a new one,
// and the cache starts over when full.
const maxClients = 64

type clientCache struct {
	mu      sync.Mutex
	clients map[objectstore.Credentials]*s3.Client
}

func (c *clientCache) get(creds objectstore.Credentials) *s3.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if client, ok := c.clients[creds]; ok {
		return client
	}
	if c.clients == nil || len(c.clients) >= maxClients {
		c.clients = map[objectstore.Credentials]*s3.Client{}
	}
	client := creds.Client()
	c.clients[creds] = client
	return client
}
