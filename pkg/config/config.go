// Package config reads the config-materialize ConfigMap: cluster-wide
// defaults and limits for every ResultMaterialize run.
package config

import (
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/resultmaterialize/controller/pkg/protocol"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// Name is the ConfigMap's name, in the controller's namespace.
const Name = "config-materialize"

// Keys of config-materialize.
const (
	KeyThreshold         = "result-size-threshold"
	KeyMaxInlineTotal    = "max-inline-total"
	KeyDefaultOnOversize = "default-on-oversize"
	KeyReaderImage       = "reader-image"
	KeyReaderStart       = "reader-start-timeout"
	KeyReaderRead        = "reader-read-timeout"
	KeyReaderCPURequest  = "reader-cpu-request"
	KeyReaderMemRequest  = "reader-memory-request"
	KeyReaderCPULimit    = "reader-cpu-limit"
	KeyReaderMemLimit    = "reader-memory-limit"
	KeyAllowSecrets      = "allow-secret-workspaces"
	KeySecretCSIDrivers  = "secret-csi-drivers"
	KeyKeepFailedReaders = "keep-failed-readers"
	KeyReaderRunAsUser   = "reader-run-as-user"
	KeyMaxProjection     = "max-projection-bytes"
)

// PlatformUID is the reader-run-as-user value that leaves the reader's
// UID to the platform, as OpenShift's restricted SecurityContextConstraints
// require: they assign each namespace a UID range.
const PlatformUID = "platform"

// DefaultReaderUID is the reader's UID unless reader-run-as-user says
// otherwise: the nonroot user of the reader image.
const DefaultReaderUID int64 = 65532

// ReaderImageEnv is the controller environment variable holding the
// reader image ko built; reader-image overrides it.
const ReaderImageEnv = "READER_IMAGE"

// Defaults documented in docs/configuration.md and in config/config-materialize.yaml.
const (
	DefaultThreshold      int64 = 4096
	DefaultMaxInlineTotal int64 = 128 << 10
	DefaultReaderStart          = 2 * time.Minute
	DefaultReaderRead           = 10 * time.Minute
	DefaultMaxProjection  int64 = 64 << 20
)

// Keys lists every key of config-materialize; docs/configuration.md
// must name each one.
var Keys = []string{
	KeyThreshold, KeyMaxInlineTotal, KeyDefaultOnOversize, KeyReaderImage,
	KeyReaderStart, KeyReaderRead,
	KeyReaderCPURequest, KeyReaderMemRequest, KeyReaderCPULimit, KeyReaderMemLimit,
	KeyAllowSecrets, KeySecretCSIDrivers, KeyKeepFailedReaders, KeyReaderRunAsUser,
	KeyMaxProjection, KeyObjectStoreProfiles, KeyObjectStoreMaxBytes,
	KeyDefaultRetain, KeyOCIRepository, KeyOCINamespaceRepos, KeyOCIInsecure,
	KeyOCICredentialsSecret, KeyProvenance, KeyOCIGC, KeyOCIGCTimeout,
}

// DefaultSecretCSIDrivers are the CSI drivers whose volumes hold secrets:
// reading them needs allow-secret-workspaces like a secret binding.
var DefaultSecretCSIDrivers = []string{"secrets-store.csi.k8s.io"}

// Config is the parsed config-materialize.
type Config struct {
	// Threshold is the inline limit per result unless a run overrides it.
	Threshold int64
	// MaxInlineTotal caps the inline bytes of one run.
	MaxInlineTotal int64
	// DefaultOnOversize applies unless a run or result overrides it.
	DefaultOnOversize resultmaterialize.Policy
	// ReaderImage runs the reader pods.
	ReaderImage string
	// ReaderStartTimeout bounds how long a reader pod may stay Pending
	// (scheduling, volume attach, image pull).
	ReaderStartTimeout time.Duration
	// ReaderReadTimeout is the reader pod's activeDeadlineSeconds: how
	// long it may take to read, counted from when the kubelet takes it.
	ReaderReadTimeout time.Duration
	// ReaderResources are the reader container's requests and limits.
	ReaderResources corev1.ResourceRequirements
	// AllowSecretWorkspaces lets secret bindings be read.
	AllowSecretWorkspaces bool
	// SecretCSIDrivers are CSI drivers read only when secrets are allowed.
	SecretCSIDrivers []string
	// KeepFailedReaders leaves failed reader pods in place for debugging.
	KeepFailedReaders bool
	// ReaderUID is the reader pods' runAsUser and runAsGroup; nil leaves
	// them to the platform (the pod still runs as non-root).
	ReaderUID *int64
	// MaxProjectionBytes bounds a document a projection parses whole.
	MaxProjectionBytes int64
	// ObjectStoreProfiles say which CSI volumes the controller reads
	// straight from their bucket; none by default.
	ObjectStoreProfiles []objectstore.Profile
	// ObjectStoreMaxBytes is the largest object read directly.
	ObjectStoreMaxBytes int64
	// Retain is how results kept by reference are retained.
	Retain Retain
}

// Default returns the configuration in force when config-materialize is
// empty or missing.
func Default() *Config {
	return &Config{
		Threshold:           DefaultThreshold,
		MaxInlineTotal:      DefaultMaxInlineTotal,
		DefaultOnOversize:   resultmaterialize.PolicyReference,
		ReaderImage:         os.Getenv(ReaderImageEnv),
		ReaderStartTimeout:  DefaultReaderStart,
		ReaderReadTimeout:   DefaultReaderRead,
		SecretCSIDrivers:    DefaultSecretCSIDrivers,
		ReaderUID:           ptr.To(DefaultReaderUID),
		MaxProjectionBytes:  DefaultMaxProjection,
		ObjectStoreMaxBytes: DefaultObjectStoreMaxBytes,
		Retain:              Retain{Default: resultmaterialize.RetainWorkspace, GC: resultmaterialize.GCNever, GCTimeout: DefaultOCIGCTimeout},
		ReaderResources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("10m"),
				corev1.ResourceMemory: resource.MustParse("16Mi"),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("500m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
		},
	}
}

// FromConfigMap parses config-materialize. Missing keys keep their
// defaults; any invalid value is an error naming the key, the value and
// what is allowed.
func FromConfigMap(cm *corev1.ConfigMap) (*Config, error) {
	c := Default()
	data := cm.Data
	if v, ok := data[KeyThreshold]; ok {
		n, err := resultmaterialize.ParseThreshold(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyThreshold, err)
		}
		c.Threshold = n
	}
	if v, ok := data[KeyMaxInlineTotal]; ok {
		n, err := resultmaterialize.ParseThreshold(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyMaxInlineTotal, err)
		}
		c.MaxInlineTotal = n
	}
	if v, ok := data[KeyDefaultOnOversize]; ok {
		p := resultmaterialize.Policy(v)
		if !slices.Contains(resultmaterialize.Policies, p) {
			return nil, fmt.Errorf("%s: %q is not a policy: want one of %q", KeyDefaultOnOversize, v, resultmaterialize.Policies)
		}
		c.DefaultOnOversize = p
	}
	if v, ok := data[KeyReaderImage]; ok && v != "" {
		c.ReaderImage = v
	}
	for key, dst := range map[string]*time.Duration{KeyReaderStart: &c.ReaderStartTimeout, KeyReaderRead: &c.ReaderReadTimeout} {
		v, ok := data[key]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("%s: %q is not a duration of at least 1s (such as \"2m\")", key, v)
		}
		*dst = d
	}
	if v, ok := data[KeySecretCSIDrivers]; ok {
		c.SecretCSIDrivers = nil
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				c.SecretCSIDrivers = append(c.SecretCSIDrivers, d)
			}
		}
	}
	for key, set := range map[string]struct {
		list corev1.ResourceList
		name corev1.ResourceName
	}{
		KeyReaderCPURequest: {c.ReaderResources.Requests, corev1.ResourceCPU},
		KeyReaderMemRequest: {c.ReaderResources.Requests, corev1.ResourceMemory},
		KeyReaderCPULimit:   {c.ReaderResources.Limits, corev1.ResourceCPU},
		KeyReaderMemLimit:   {c.ReaderResources.Limits, corev1.ResourceMemory},
	} {
		v, ok := data[key]
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive quantity (such as \"100m\" or \"64Mi\")", key, v)
		}
		set.list[set.name] = q
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, limit := c.ReaderResources.Requests[name], c.ReaderResources.Limits[name]
		if req.Cmp(limit) > 0 {
			return nil, fmt.Errorf("reader %s request %s is above its limit %s", name, req.String(), limit.String())
		}
	}
	if err := c.parseMaxProjection(data); err != nil {
		return nil, err
	}
	if err := c.parseObjectStore(data); err != nil {
		return nil, err
	}
	if err := c.parseRetain(data); err != nil {
		return nil, err
	}
	if v, ok := data[KeyReaderRunAsUser]; ok {
		uid, err := parseUID(v)
		if err != nil {
			return nil, err
		}
		c.ReaderUID = uid
	}
	var err error
	if c.AllowSecretWorkspaces, err = parseBool(data, KeyAllowSecrets); err != nil {
		return nil, err
	}
	if c.KeepFailedReaders, err = parseBool(data, KeyKeepFailedReaders); err != nil {
		return nil, err
	}
	return c, nil
}

// MaxMaxProjection bounds max-projection-bytes: a reader pod whose plan
// projects gets a memory limit of protocol.MemoryFactor times it.
const MaxMaxProjection int64 = 1 << 30

// parseMaxProjection reads max-projection-bytes.
func (c *Config) parseMaxProjection(data map[string]string) error {
	v, ok := data[KeyMaxProjection]
	if !ok {
		return nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 || q.Value() > MaxMaxProjection {
		return fmt.Errorf("%s: %q is not a byte quantity from 1 to 1Gi (such as \"64Mi\")", KeyMaxProjection, v)
	}
	c.MaxProjectionBytes = q.Value()
	return nil
}

// ReaderMemoryLimit is the reader pod's memory limit for a plan: with a
// projection, at least protocol.MemoryFactor times max-projection-bytes,
// what parsing a document whole may take; otherwise reader-memory-limit.
func (c *Config) ReaderMemoryLimit(projects bool) resource.Quantity {
	limit := c.ReaderResources.Limits[corev1.ResourceMemory]
	if need := c.MaxProjectionBytes * protocol.MemoryFactor; projects && limit.Value() < need {
		return *resource.NewQuantity(need, resource.BinarySI)
	}
	return limit
}

// parseUID reads reader-run-as-user: a non-root UID, or "platform".
func parseUID(v string) (*int64, error) {
	if v == PlatformUID {
		return nil, nil
	}
	uid, err := strconv.ParseInt(v, 10, 64)
	if err != nil || uid < 1 || uid > 1<<31-1 {
		return nil, fmt.Errorf("%s: %q is not a non-root UID (1 to 2147483647) or %q", KeyReaderRunAsUser, v, PlatformUID)
	}
	return &uid, nil
}

func parseBool(data map[string]string, key string) (bool, error) {
	v, ok := data[key]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean: want true or false", key, v)
	}
	return b, nil
}
