package config

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"k8s.io/utils/ptr"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

func cm(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Data: data}
}

func TestFromConfigMapDefaults(t *testing.T) {
	t.Setenv(ReaderImageEnv, "registry.example/reader@sha256:abc")
	c, err := FromConfigMap(cm(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Threshold != 4096 || c.MaxInlineTotal != 128<<10 || c.DefaultOnOversize != resultmaterialize.PolicyReference ||
		c.ReaderStartTimeout != 2*time.Minute || c.ReaderReadTimeout != 10*time.Minute || c.MaxProjectionBytes != 64<<20 || !slices.Equal(c.SecretCSIDrivers, []string{"secrets-store.csi.k8s.io"}) || c.AllowSecretWorkspaces || c.ReaderImage != "registry.example/reader@sha256:abc" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestFromConfigMapValues(t *testing.T) {
	c, err := FromConfigMap(cm(map[string]string{
		KeyThreshold: "1Ki", KeyMaxInlineTotal: "10Ki", KeyDefaultOnOversize: "truncate", KeyReaderImage: "img",
		KeyReaderStart: "30s", KeyReaderRead: "1h", KeySecretCSIDrivers: " a.csi , b.csi,", KeyReaderMemLimit: "128Mi", KeyAllowSecrets: "true", KeyKeepFailedReaders: "true",
		KeyMaxProjection: "100Mi", KeyObjectStoreMaxBytes: "64Mi",
		KeyObjectStoreProfiles: "- {driver: d, bucket: volumeHandle, credentials: nodePublishSecretRef, exact: [{attribute: mounter, in: [s3fs]}]}",
	}))
	if err != nil {
		t.Fatal(err)
	}
	mem := c.ReaderResources.Limits[corev1.ResourceMemory]
	if c.Threshold != 1024 || c.MaxInlineTotal != 10240 || c.DefaultOnOversize != resultmaterialize.PolicyTruncate || c.ReaderImage != "img" ||
		c.ReaderStartTimeout != 30*time.Second || c.ReaderReadTimeout != time.Hour || !slices.Equal(c.SecretCSIDrivers, []string{"a.csi", "b.csi"}) || mem.Cmp(resource.MustParse("128Mi")) != 0 || !c.AllowSecretWorkspaces || !c.KeepFailedReaders || c.MaxProjectionBytes != 100<<20 ||
		c.ObjectStoreMaxBytes != 64<<20 || len(c.ObjectStoreProfiles) != 1 || c.ObjectStoreProfiles[0].Driver != "d" {
		t.Errorf("parsed = %+v", c)
	}
}

func TestReaderMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		data     map[string]string
		projects bool
		want     string
	}{
		{nil, false, "64Mi"},
		{nil, true, "768Mi"},
		{map[string]string{KeyMaxProjection: "1Mi"}, true, "64Mi"},
		{map[string]string{KeyReaderMemLimit: "2Gi"}, true, "2Gi"},
	} {
		c, err := FromConfigMap(cm(tc.data))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ReaderMemoryLimit(tc.projects); got.Cmp(resource.MustParse(tc.want)) != 0 {
			t.Errorf("%v, projects %v: limit %s, want %s", tc.data, tc.projects, got.String(), tc.want)
		}
	}
}

func TestFromConfigMapErrors(t *testing.T) {
	tests := map[string]struct {
		data map[string]string
		want string
	}{
		"threshold":       {map[string]string{KeyThreshold: "4KB"}, `result-size-threshold: "4KB" is not a byte quantity: want a non-negative integer with an optional suffix Ki, Mi, Gi, k, M or G`},
		"budget":          {map[string]string{KeyMaxInlineTotal: "2Mi"}, `max-inline-total: "2Mi" is 2097152 bytes, above the limit of 1048576 bytes (1Mi)`},
		"policy":          {map[string]string{KeyDefaultOnOversize: "drop"}, `default-on-oversize: "drop" is not a policy: want one of ["reference" "fail" "truncate"]`},
		"timeout":         {map[string]string{KeyReaderStart: "soon"}, `reader-start-timeout: "soon" is not a duration of at least 1s (such as "2m")`},
		"resource":        {map[string]string{KeyReaderCPULimit: "-1"}, `reader-cpu-limit: "-1" is not a positive quantity (such as "100m" or "64Mi")`},
		"request>limit":   {map[string]string{KeyReaderMemRequest: "1Gi"}, `reader memory request 1Gi is above its limit 64Mi`},
		"projection":      {map[string]string{KeyMaxProjection: "lots"}, `max-projection-bytes: "lots" is not a byte quantity from 1 to 1Gi (such as "64Mi")`},
		"huge projection": {map[string]string{KeyMaxProjection: "1Ei"}, `max-projection-bytes: "1Ei" is not a byte quantity from 1 to 1Gi (such as "64Mi")`},
		"bool":            {map[string]string{KeyAllowSecrets: "yes please"}, `allow-secret-workspaces: "yes please" is not a boolean: want true or false`},
		"root uid":        {map[string]string{KeyReaderRunAsUser: "0"}, `reader-run-as-user: "0" is not a non-root UID (1 to 2147483647) or "platform"`},
		"named uid":       {map[string]string{KeyReaderRunAsUser: "nonroot"}, `reader-run-as-user: "nonroot" is not a non-root UID (1 to 2147483647) or "platform"`},
		"huge uid":        {map[string]string{KeyReaderRunAsUser: "4294967296"}, `reader-run-as-user: "4294967296" is not a non-root UID (1 to 2147483647) or "platform"`},
		"profile":         {map[string]string{KeyObjectStoreProfiles: "- {driver: d, bucket: volumeHandle, credentials: env}"}, `object-store-profiles: profile 0 (driver "d"): credentials "env": want nodePublishSecretRef, nodeStageSecretRef or namespace`},
		"object bytes":    {map[string]string{KeyObjectStoreMaxBytes: "2Gi"}, `object-store-max-bytes: "2Gi" is not a byte quantity from 0 to 1Gi (such as "256Mi")`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := FromConfigMap(cm(tc.data))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestStoreKeepsLastGoodConfig(t *testing.T) {
	s := NewStore(zaptest.NewLogger(t).Sugar())
	if s.Load().Threshold != DefaultThreshold {
		t.Fatalf("initial threshold %d, want the default", s.Load().Threshold)
	}
	s.OnConfigChanged(cm(map[string]string{KeyThreshold: "100"}))
	s.OnConfigChanged(cm(map[string]string{KeyThreshold: "-5"}))
	if got := FromContext(s.ToContext(t.Context())).Threshold; got != 100 {
		t.Errorf("threshold after an invalid update = %d, want the last good 100", got)
	}
}

// TestDocsListEveryKey keeps docs/configuration.md and
// config/config-materialize.yaml in step with Keys.
func TestDocsListEveryKey(t *testing.T) {
	docs, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../../config/config-materialize.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if !strings.Contains(string(docs), "| `"+k+"` |") {
			t.Errorf("key %s is not in docs/configuration.md", k)
		}
		if !strings.Contains(string(shipped), "\n  "+k+":") {
			t.Errorf("key %s is not in config/config-materialize.yaml", k)
		}
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(shipped, &cm); err != nil {
		t.Fatal(err)
	}
	for k := range cm.Data {
		if !slices.Contains(Keys, k) {
			t.Errorf("config/config-materialize.yaml sets %s, which is not a key", k)
		}
	}
	if _, err := FromConfigMap(&cm); err != nil {
		t.Errorf("config/config-materialize.yaml does not parse: %v", err)
	}
}

func TestReaderRunAsUser(t *testing.T) {
	for v, want := range map[string]*int64{"": ptr.To(DefaultReaderUID), "1000770000": ptr.To(int64(1000770000)), PlatformUID: nil} {
		data := map[string]string{}
		if v != "" {
			data[KeyReaderRunAsUser] = v
		}
		c, err := FromConfigMap(cm(data))
		if err != nil {
			t.Fatal(err)
		}
		if (c.ReaderUID == nil) != (want == nil) || (want != nil && *c.ReaderUID != *want) {
			t.Errorf("%s %q: ReaderUID = %v, want %v", KeyReaderRunAsUser, v, c.ReaderUID, want)
		}
	}
}
