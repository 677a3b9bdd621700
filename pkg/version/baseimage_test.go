package version

import (
	"os"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"
)

// byDigest matches an image reference that names its image by digest,
// with or without a tag: the tag can move, the digest cannot.
var byDigest = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)

// TestBaseImagesPinnedByDigest: two releases of one commit are the same
// images only if ko builds them on the same base, so .ko.yaml names every
// base image by digest. An absent defaultBaseImage is ko's own default, a
// tag.
func TestBaseImagesPinnedByDigest(t *testing.T) {
	raw, err := os.ReadFile("../../.ko.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ko struct {
		DefaultBaseImage   string            `json:"defaultBaseImage"`
		BaseImageOverrides map[string]string `json:"baseImageOverrides"`
	}
	if err := yaml.Unmarshal(raw, &ko); err != nil {
		t.Fatalf("parsing .ko.yaml: %v", err)
	}
	if !byDigest.MatchString(ko.DefaultBaseImage) {
		t.Errorf(".ko.yaml defaultBaseImage %q is not pinned by digest: add @sha256:<digest> (crane digest <image>)", ko.DefaultBaseImage)
	}
	for path, image := range ko.BaseImageOverrides {
		if !byDigest.MatchString(image) {
			t.Errorf(".ko.yaml baseImageOverrides[%s] %q is not pinned by digest: add @sha256:<digest> (crane digest <image>)", path, image)
		}
	}
}

func TestByDigest(t *testing.T) {
	digest := "sha256:f68e3a8244c7d0f4cd56635aaff8e6a533cf6cc3850d8fb339567a5782d6a0b0"
	for ref, want := range map[string]bool{
		"cgr.dev/chainguard/static:latest@" + digest: true,
		"cgr.dev/chainguard/static@" + digest:        true,
		"127.0.0.1:5000/base@" + digest:              true,
		"cgr.dev/chainguard/static:latest":           false,
		"cgr.dev/chainguard/static":                  false,
		"":                                           false,
		"cgr.dev/chainguard/static@sha256:f68e3a82":  false,
		"cgr.dev/chainguard/static@sha512:" + digest: false,
		"cgr.dev/chainguard/static@" + digest + " x": false,
		"cgr.dev/chainguard/static@@" + digest:       false,
	} {
		if got := byDigest.MatchString(ref); got != want {
			t.Errorf("byDigest(%q) = %v, want %v", ref, got, want)
		}
	}
}
