#!/usr/bin/env bash
# make release-plugin VERSION=vX.Y.Z (also run by make release): builds
# kubectl-rmat for linux and darwin, amd64 and arm64, into
# DIST/kubectl-rmat_<os>_<arch>.tar.gz, and writes DIST/rmat.yaml, a krew plugin manifest with the sha256 of
# each archive. URL_BASE is where the archives will be served from
# (file://DIST by default, for kubectl krew install --manifest
# --archive).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
VERSION="${VERSION:?set VERSION, such as v0.2.0}"
if [[ ! "${VERSION}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$ ]]; then
  echo "VERSION ${VERSION} is not a semantic version such as v0.2.0 or v0.2.0-rc.1" >&2
  exit 2
fi
dist="${DIST:-_output/plugin}"
mkdir -p "${dist}"
dist="$(cd "${dist}" && pwd)"
url_base="${URL_BASE:-file://${dist}}"
platforms="${PLUGIN_PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

entries=""
for platform in ${platforms}; do
  os="${platform%/*}" arch="${platform#*/}"
  dir="${work}/${os}-${arch}"
  mkdir -p "${dir}"
  CGO_ENABLED=0 GOOS="${os}" GOARCH="${arch}" go build -trimpath \
    -ldflags "-s -w -X github.com/resultmaterialize/controller/pkg/version.Version=${VERSION}" \
    -o "${dir}/kubectl-rmat" ./cmd/kubectl-rmat
  archive="kubectl-rmat_${os}_${arch}.tar.gz"
  tar -C "${dir}" --owner=0 --group=0 --numeric-owner --mode=0755 --mtime=@0 --sort=name --format=gnu -czf "${dist}/${archive}" kubectl-rmat
  sum="$(sha256sum "${dist}/${archive}" | cut -d' ' -f1)"
  entries+="  - selector:
      matchLabels: {os: ${os}, arch: ${arch}}
    uri: ${url_base}/${archive}
    sha256: ${sum}
    bin: kubectl-rmat
    files:
      - {from: kubectl-rmat, to: .}
"
  echo "${archive} ${sum}"
done

cat > "${dist}/rmat.yaml" <<YAML
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: rmat
spec:
  version: ${VERSION}
  homepage: https://github.com/resultmaterialize/controller
  shortDescription: See, fetch and verify ResultMaterialize results
  description: |
    kubectl rmat lists the results a Tekton PipelineRun's ResultMaterialize
    tasks produced, where each lives and whether that place still exists
    (ls), writes one result's bytes checked against the sha256 its run
    published (cat), and copies them all with a manifest (cp).
  platforms:
YAML
printf '%s' "${entries}" >> "${dist}/rmat.yaml"
echo "plugin ${VERSION}: archives and the krew manifest in ${dist}"
