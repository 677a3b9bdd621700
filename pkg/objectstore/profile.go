// Package objectstore reads result files straight from the S3 bucket behind
// a CSI volume, with no reader pod, when an admin's driver profile says the
// volume's mount is exact: every closed file is whole in the store. It
// knows PVs and Secrets only as the fields a profile names.
package objectstore

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Where a profile finds a volume's bucket and prefix.
const (
	// BucketFromVolumeHandle splits csi.volumeHandle as <bucket>/<prefix>,
	// as yandex-cloud/k8s-csi-s3 writes it.
	BucketFromVolumeHandle = "volumeHandle"
	// BucketFromAttributes reads two csi.volumeAttributes.
	BucketFromAttributes = "attributes"
	// BucketFromSecret reads the bucket from the credentials Secret's
	// bucket key, as datashim's csi-s3 (ch.ctrox.csi.s3-driver) does. A
	// Secret that also names a folder is never read directly: datashim's
	// goofys mounts the folder, its s3fs and rclone the whole bucket.
	BucketFromSecret = "secret"
)

// Where a profile finds the credentials.
const (
	CredentialsNodePublish = "nodePublishSecretRef"
	CredentialsNodeStage   = "nodeStageSecretRef"
	// CredentialsNamespace is a Secret named by the profile in the PVC's
	// namespace; the endpoint must then come from the profile.
	CredentialsNamespace = "namespace"
)

// Profile says, for one CSI driver, how a PV maps to a bucket, prefix and
// credentials, and when its mount is exact.
type Profile struct {
	// Driver is the CSI driver name.
	Driver string `json:"driver"`
	// Bucket is BucketFromVolumeHandle, BucketFromAttributes or
	// BucketFromSecret.
	Bucket string `json:"bucket"`
	// BucketAttribute and PrefixAttribute name the volumeAttributes
	// holding them, for BucketFromAttributes.
	BucketAttribute string `json:"bucketAttribute,omitempty"`
	PrefixAttribute string `json:"prefixAttribute,omitempty"`
	// Credentials is where the keys are.
	Credentials string `json:"credentials"`
	// Secret names the Secret for CredentialsNamespace.
	Secret string `json:"secret,omitempty"`
	// Endpoint overrides the Secret's endpoint; required with
	// CredentialsNamespace, so a namespace's Secret never picks the host
	// the controller connects to.
	Endpoint string `json:"endpoint,omitempty"`
	// Region overrides the Secret's region.
	Region string `json:"region,omitempty"`
	// Exact lists when the mount is exact: any rule that holds makes it
	// so. With none, the profile never reads directly.
	Exact []Rule `json:"exact"`
}

// Rule holds when a volumeAttribute is one of In, or contains Contains as
// a whitespace-separated word.
type Rule struct {
	Attribute string   `json:"attribute"`
	In        []string `json:"in,omitempty"`
	Contains  string   `json:"contains,omitempty"`
}

// ParseProfiles parses the object-store-profiles value, a YAML list, and
// validates every profile; the error names the profile and the field.
func ParseProfiles(value string) ([]Profile, error) {
	var profiles []Profile
	if err := yaml.UnmarshalStrict([]byte(value), &profiles); err != nil {
		return nil, fmt.Errorf("not a YAML list of profiles: %w", err)
	}
	seen := map[string]bool{}
	for i, p := range profiles {
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("profile %d (driver %q): %w", i, p.Driver, err)
		}
		if seen[p.Driver] {
			return nil, fmt.Errorf("profile %d: driver %q has another profile", i, p.Driver)
		}
		seen[p.Driver] = true
	}
	return profiles, nil
}

func (p Profile) validate() error {
	switch {
	case p.Driver == "":
		return fmt.Errorf("driver is empty")
	case !slices.Contains([]string{BucketFromVolumeHandle, BucketFromAttributes, BucketFromSecret}, p.Bucket):
		return fmt.Errorf("bucket %q: want %s, %s or %s", p.Bucket, BucketFromVolumeHandle, BucketFromAttributes, BucketFromSecret)
	case p.Bucket == BucketFromAttributes && p.BucketAttribute == "":
		return fmt.Errorf("bucket %s needs bucketAttribute", BucketFromAttributes)
	case !slices.Contains([]string{CredentialsNodePublish, CredentialsNodeStage, CredentialsNamespace}, p.Credentials):
		return fmt.Errorf("credentials %q: want %s, %s or %s", p.Credentials, CredentialsNodePublish, CredentialsNodeStage, CredentialsNamespace)
	case p.Credentials == CredentialsNamespace && (p.Secret == "" || p.Endpoint == ""):
		return fmt.Errorf("credentials %s needs secret and endpoint: a Secret of the run's namespace never chooses the endpoint", CredentialsNamespace)
	case p.Credentials == CredentialsNamespace && p.Bucket == BucketFromSecret:
		return fmt.Errorf("bucket %s needs the Secret the PV names: a Secret of the run's namespace that no mount reads never chooses the bucket", BucketFromSecret)
	case p.Credentials != CredentialsNamespace && p.Secret != "":
		return fmt.Errorf("secret %q is only for credentials %s", p.Secret, CredentialsNamespace)
	case p.Endpoint != "" && !strings.HasPrefix(p.Endpoint, "http://") && !strings.HasPrefix(p.Endpoint, "https://"):
		return fmt.Errorf("endpoint %q: want an http:// or https:// URL", p.Endpoint)
	}
	for j, r := range p.Exact {
		if r.Attribute == "" || (len(r.In) == 0) == (r.Contains == "") {
			return fmt.Errorf("exact[%d]: want an attribute and exactly one of in or contains", j)
		}
	}
	return nil
}

// For returns the profile of the driver, if any.
func For(profiles []Profile, driver string) (Profile, bool) {
	i := slices.IndexFunc(profiles, func(p Profile) bool { return p.Driver == driver })
	if i < 0 {
		return Profile{}, false
	}
	return profiles[i], true
}

// SecretRef is the Secret holding the keys of a volume of the profile, in
// a run's namespace ns; nil when the PV names none.
func (p Profile) SecretRef(ns string, csi *corev1.CSIPersistentVolumeSource) *corev1.SecretReference {
	switch p.Credentials {
	case CredentialsNamespace:
		return &corev1.SecretReference{Namespace: ns, Name: p.Secret}
	case CredentialsNodeStage:
		return csi.NodeStageSecretRef
	default:
		return csi.NodePublishSecretRef
	}
}

// Keys reads the Secret's data (k8s-csi-s3's keys); the profile's endpoint
// and region, when set, win over the Secret's. A Secret that names another
// endpoint than the profile's is refused: the volume may be mounted from
// that store, and the controller never dials it.
func (p Profile) Keys(data map[string]string) (Credentials, error) {
	if p.Endpoint != "" {
		if e := data["endpoint"]; e != "" && !sameEndpoint(e, p.Endpoint) {
			return Credentials{}, fmt.Errorf("its endpoint is not the profile's, so the volume may be mounted from another store")
		}
		data["endpoint"] = p.Endpoint
	}
	if p.Region != "" {
		data["region"] = p.Region
	}
	return FromSecret(data)
}

// sameEndpoint reports whether two endpoint URLs name the same store: the
// same scheme, host (in any case) and port (the scheme's by default),
// whatever the spaces or slashes around them.
func sameEndpoint(a, b string) bool {
	key := func(raw string) string {
		u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
		if err != nil || u.Host == "" || u.Path != "" {
			return raw
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
		}
		return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
	}
	return key(a) == key(b)
}

// ownership are the mount options that change who the mount shows as a
// file's owner or what its mode is: with any of them the stored mode is
// not what the reader meets.
var ownership = []string{"umask=", "uid=", "gid=", "default_acl", "--uid", "--gid", "--file-mode", "--dir-mode", "--umask"}

// IsExact tells whether a rule of the profile holds for the PV and its
// options leave the stored modes as the mount shows them.
func (p Profile) IsExact(csi *corev1.CSIPersistentVolumeSource) bool {
	options := csi.VolumeAttributes["options"]
	for _, o := range ownership {
		if strings.Contains(options, o) {
			return false
		}
	}
	for _, r := range p.Exact {
		value, ok := csi.VolumeAttributes[r.Attribute]
		switch {
		case !ok:
		case len(r.In) > 0 && slices.Contains(r.In, value):
			return true
		case r.Contains != "" && slices.Contains(strings.Fields(value), r.Contains):
			return true
		}
	}
	return false
}
