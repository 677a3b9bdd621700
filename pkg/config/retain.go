package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Keys of the export of references as OCI artifacts (docs/durable-references.md).
const (
	KeyDefaultRetain        = "default-retain"
	KeyOCIRepository        = "oci-repository"
	KeyOCINamespaceRepos    = "oci-namespace-repositories"
	KeyOCIInsecure          = "oci-insecure"
	KeyOCICredentialsSecret = "oci-credentials-secret"
	KeyProvenance           = "provenance"
	KeyOCIGC                = "oci-gc"
	KeyOCIGCTimeout         = "oci-gc-timeout"
	DefaultOCIGCTimeout     = 10 * time.Minute
	maxRepositoryLength     = 255
)

// Retain is how results kept by reference are retained.
type Retain struct {
	// Default is a run's retain unless the run or a result says otherwise.
	Default resultmaterialize.Retain
	// Repository is where artifacts are pushed: REGISTRY/REPO.
	Repository string
	// NamespaceRepositories overrides Repository for runs in a namespace.
	NamespaceRepositories map[string]string
	// Insecure lets the registry be reached over plain HTTP.
	Insecure bool
	// CredentialsSecret names a Secret of docker config JSON: the reader
	// pod mounts the one in its run's namespace to push, the controller
	// reads the one in its own namespace to verify and delete.
	CredentialsSecret string
	// Provenance publishes Chains' type hints unless a run says otherwise.
	Provenance bool
	// GC says whether a run's artifacts go with it.
	GC resultmaterialize.GC
	// GCTimeout is how long deleting a run's artifacts may keep failing
	// before the run is let go.
	GCTimeout time.Duration
}

// RepositoryFor is the repository runs in namespace ns push to; empty
// when none is configured.
func (r Retain) RepositoryFor(ns string) string {
	if repo, ok := r.NamespaceRepositories[ns]; ok {
		return repo
	}
	return r.Repository
}

// parseRetain reads the export keys.
func (c *Config) parseRetain(data map[string]string) error {
	r := Retain{Default: resultmaterialize.RetainWorkspace, GC: resultmaterialize.GCNever, GCTimeout: DefaultOCIGCTimeout}
	if v, ok := data[KeyDefaultRetain]; ok {
		r.Default = resultmaterialize.Retain(v)
		if !slices.Contains(resultmaterialize.Retains, r.Default) {
			return fmt.Errorf("%s: %q is not a retain: want one of %q", KeyDefaultRetain, v, resultmaterialize.Retains)
		}
	}
	if v, ok := data[KeyOCIRepository]; ok && v != "" {
		if err := checkRepository(v); err != nil {
			return fmt.Errorf("%s: %w", KeyOCIRepository, err)
		}
		r.Repository = v
	}
	if v, ok := data[KeyOCINamespaceRepos]; ok && strings.TrimSpace(v) != "" {
		if err := json.Unmarshal([]byte(v), &r.NamespaceRepositories); err != nil {
			return fmt.Errorf("%s: not a JSON object of namespace to repository: %w", KeyOCINamespaceRepos, err)
		}
		for ns, repo := range r.NamespaceRepositories {
			if err := checkRepository(repo); err != nil {
				return fmt.Errorf("%s: namespace %q: %w", KeyOCINamespaceRepos, ns, err)
			}
		}
	}
	if r.Default == resultmaterialize.RetainOCI && r.Repository == "" {
		return fmt.Errorf("%s: %q needs %s", KeyDefaultRetain, r.Default, KeyOCIRepository)
	}
	if v := data[KeyOCICredentialsSecret]; v != "" && len(validation.IsDNS1123Subdomain(v)) > 0 {
		return fmt.Errorf("%s: %q is not a Secret name: want lower case letters, digits, '-' and '.', at most 253", KeyOCICredentialsSecret, v)
	}
	r.CredentialsSecret = data[KeyOCICredentialsSecret]
	if v, ok := data[KeyOCIGC]; ok {
		r.GC = resultmaterialize.GC(v)
		if !slices.Contains(resultmaterialize.GCs, r.GC) {
			return fmt.Errorf("%s: %q is not a gc: want one of %q", KeyOCIGC, v, resultmaterialize.GCs)
		}
	}
	if v, ok := data[KeyOCIGCTimeout]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("%s: %q is not a duration of at least 1s (such as \"10m\")", KeyOCIGCTimeout, v)
		}
		r.GCTimeout = d
	}
	var err error
	if r.Insecure, err = parseBool(data, KeyOCIInsecure); err != nil {
		return err
	}
	if r.Provenance, err = parseBool(data, KeyProvenance); err != nil {
		return err
	}
	c.Retain = r
	return nil
}

// checkRepository accepts REGISTRY/REPO: a registry host (with a port or
// not) and a lower-case repository path, with no tag or digest.
func checkRepository(v string) error {
	host, path, ok := strings.Cut(v, "/")
	switch {
	case len(v) > maxRepositoryLength:
		return fmt.Errorf("%q is %d bytes, above the limit of %d", v, len(v), maxRepositoryLength)
	case !ok || host == "" || path == "" || !strings.ContainsAny(host, ".:") && host != "localhost":
		return fmt.Errorf("%q is not REGISTRY/REPOSITORY (such as registry.example.com/results)", v)
	case strings.ContainsAny(v, "@ ") || strings.Contains(path, ":"):
		return fmt.Errorf("%q names a tag or digest: want a repository only", v)
	case strings.ToLower(path) != path:
		return fmt.Errorf("%q has upper-case letters in its repository path, which registries refuse", v)
	}
	if _, err := name.NewRepository(v, name.StrictValidation); err != nil {
		return fmt.Errorf("%q is not a repository: %w", v, err)
	}
	return nil
}
