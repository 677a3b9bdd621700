package config

import (
	"fmt"

	"github.com/resultmaterialize/controller/pkg/objectstore"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Keys of the pod-less object-store reads.
const (
	KeyObjectStoreProfiles = "object-store-profiles"
	KeyObjectStoreMaxBytes = "object-store-max-bytes"
)

// DefaultObjectStoreMaxBytes is the most bytes the controller streams for
// one run's direct read; a run with more is read by a reader pod.
const DefaultObjectStoreMaxBytes int64 = 256 << 20

// MaxObjectStoreMaxBytes bounds object-store-max-bytes: the streams run
// within one reconcile's 45 s.
const MaxObjectStoreMaxBytes int64 = 1 << 30

// parseObjectStore reads object-store-profiles and object-store-max-bytes.
func (c *Config) parseObjectStore(data map[string]string) error {
	if v, ok := data[KeyObjectStoreProfiles]; ok {
		profiles, err := objectstore.ParseProfiles(v)
		if err != nil {
			return fmt.Errorf("%s: %w", KeyObjectStoreProfiles, err)
		}
		c.ObjectStoreProfiles = profiles
	}
	if v, ok := data[KeyObjectStoreMaxBytes]; ok {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 || q.Value() > MaxObjectStoreMaxBytes {
			return fmt.Errorf("%s: %q is not a byte quantity from 0 to 1Gi (such as \"256Mi\")", KeyObjectStoreMaxBytes, v)
		}
		c.ObjectStoreMaxBytes = q.Value()
	}
	return nil
}
