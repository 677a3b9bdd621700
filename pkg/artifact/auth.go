package artifact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// dockerConfig is the part of a docker config JSON (a
// kubernetes.io/dockerconfigjson Secret's .dockerconfigjson) read here.
type dockerConfig struct {
	Auths map[string]authn.AuthConfig `json:"auths"`
}

// Credentials are registry credentials by registry host.
type Credentials map[string]authn.AuthConfig

// ParseCredentials reads a docker config JSON. An empty one means none.
func ParseCredentials(raw []byte) (Credentials, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return Credentials{}, nil
	}
	var cfg dockerConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("not a docker config JSON: %w", err)
	}
	creds := Credentials{}
	for host, a := range cfg.Auths {
		if a.Auth != "" && a.Username == "" {
			user, pass, err := decodeAuth(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("the auth of %q: %w", host, err)
			}
			a.Username, a.Password, a.Auth = user, pass, ""
		}
		creds[hostOf(host)] = a
	}
	return creds, nil
}

// For is the authenticator for repo's registry: anonymous when there is
// no entry for it.
func (c Credentials) For(repo name.Repository) authn.Authenticator {
	a, ok := c[repo.RegistryStr()]
	if !ok {
		return authn.Anonymous
	}
	return authn.FromConfig(a)
}

// hostOf turns a docker config key ("https://host/v1/", "host") into a
// registry host.
func hostOf(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, _, _ := strings.Cut(key, "/")
	if host == "docker.io" || host == "index.docker.io" {
		return name.DefaultRegistry
	}
	return host
}

func decodeAuth(s string) (string, string, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", "", fmt.Errorf("not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", fmt.Errorf("not user:password")
	}
	return user, pass, nil
}
