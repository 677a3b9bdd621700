package config

import (
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
)

func TestRetainValues(t *testing.T) {
	c, err := FromConfigMap(cm(map[string]string{
		KeyDefaultRetain: "oci", KeyOCIRepository: "registry.example:5000/results", KeyOCINamespaceRepos: `{"team-a": "registry.example/team-a"}`,
		KeyOCIInsecure: "true", KeyOCICredentialsSecret: "registry-credentials", KeyProvenance: "true", KeyOCIGC: "onRunDeletion", KeyOCIGCTimeout: "1m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Retain
	if r.Default != resultmaterialize.RetainOCI || !r.Insecure || r.CredentialsSecret != "registry-credentials" || !r.Provenance || r.GC != resultmaterialize.GCOnRunDeletion || r.GCTimeout != time.Minute {
		t.Errorf("retain = %+v", r)
	}
	if r.RepositoryFor("team-a") != "registry.example/team-a" || r.RepositoryFor("other") != "registry.example:5000/results" {
		t.Errorf("repositories: team-a %q, other %q", r.RepositoryFor("team-a"), r.RepositoryFor("other"))
	}
	d := Default().Retain
	if d.Default != resultmaterialize.RetainWorkspace || d.GC != resultmaterialize.GCNever || d.RepositoryFor("x") != "" || d.GCTimeout != DefaultOCIGCTimeout {
		t.Errorf("default retain = %+v", d)
	}
}

func TestRetainErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		data map[string]string
		want string
	}{
		"retain":        {map[string]string{KeyDefaultRetain: "s3"}, `default-retain: "s3" is not a retain: want one of ["workspace" "oci"]`},
		"no repository": {map[string]string{KeyDefaultRetain: "oci"}, `default-retain: "oci" needs oci-repository`},
		"no registry":   {map[string]string{KeyOCIRepository: "results"}, `oci-repository: "results" is not REGISTRY/REPOSITORY (such as registry.example.com/results)`},
		"tag":           {map[string]string{KeyOCIRepository: "registry.example/results:v1"}, `oci-repository: "registry.example/results:v1" names a tag or digest: want a repository only`},
		"upper case":    {map[string]string{KeyOCIRepository: "registry.example/Results"}, `oci-repository: "registry.example/Results" has upper-case letters in its repository path, which registries refuse`},
		"namespaces":    {map[string]string{KeyOCINamespaceRepos: `{"a": "nope"}`}, `oci-namespace-repositories: namespace "a": "nope" is not REGISTRY/REPOSITORY (such as registry.example.com/results)`},
		"secret":        {map[string]string{KeyOCICredentialsSecret: "Registry_Creds"}, `oci-credentials-secret: "Registry_Creds" is not a Secret name: want lower case letters, digits, '-' and '.', at most 253`},
		"repository":    {map[string]string{KeyOCIRepository: "registry.example/a+b"}, `oci-repository: "registry.example/a+b" is not a repository: repository can only contain the characters ` + "`abcdefghijklmnopqrstuvwxyz0123456789_-./`" + `: a+b`},
		"gc":            {map[string]string{KeyOCIGC: "always"}, `oci-gc: "always" is not a gc: want one of ["never" "onRunDeletion"]`},
		"gc timeout":    {map[string]string{KeyOCIGCTimeout: "0s"}, `oci-gc-timeout: "0s" is not a duration of at least 1s (such as "10m")`},
		"provenance":    {map[string]string{KeyProvenance: "maybe"}, `provenance: "maybe" is not a boolean: want true or false`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FromConfigMap(cm(tc.data)); err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %s", err, tc.want)
			}
		})
	}
}
