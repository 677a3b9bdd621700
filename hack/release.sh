#!/usr/bin/env bash
# make release VERSION=vX.Y.Z: builds the controller and reader images for
# linux/amd64 and linux/arm64 with ko, pushes them to KO_DOCKER_REPO and
# writes release.yaml (RELEASE_FILE): config/ with images by digest, every
# object labelled app.kubernetes.io/version, the version linked into the
# binaries. KO_FLAGS passes more flags to ko (the local cluster uses
# --insecure-registry).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
VERSION="${VERSION:?set VERSION, such as v0.2.0}"
: "${KO_DOCKER_REPO:?set KO_DOCKER_REPO to the repository the images go to}"
if [[ ! "${VERSION}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$ ]] || (( ${#VERSION} > 63 )); then
  echo "VERSION ${VERSION} is not a semantic version such as v0.2.0 or v0.2.0-rc.1" >&2
  exit 2
fi
out="${RELEASE_FILE:-release.yaml}"
platforms="${PLATFORMS:-linux/amd64,linux/arm64}"
# The builds of .ko.yaml, with the version linked in.
kodir="$(mktemp -d)"
trap 'rm -rf "${kodir}" "${out}.tmp"' EXIT
sed "s|^    flags: \[-trimpath\]$|&\n    ldflags: [\"-X github.com/resultmaterialize/controller/pkg/version.Version=${VERSION}\"]|" .ko.yaml > "${kodir}/.ko.yaml"
if [[ "$(grep -c ldflags "${kodir}/.ko.yaml")" != "$(grep -c '^  - id:' .ko.yaml)" ]]; then
  echo "release: could not add the version to every build of .ko.yaml" >&2
  exit 1
fi
# shellcheck disable=SC2086
KO_CONFIG_PATH="${kodir}" ko resolve --platform="${platforms}" --sbom=none ${KO_FLAGS:-} -f config/ \
  | sed "s|app.kubernetes.io/version: devel|app.kubernetes.io/version: \"${VERSION}\"|" > "${out}.tmp"
objects="$(grep -c '^kind:' "${out}.tmp" || true)"
labelled="$(grep -c "^    app.kubernetes.io/version: \"${VERSION}\"" "${out}.tmp" || true)"
if [[ "${objects}" != "${labelled}" ]] || grep -q 'ko://' "${out}.tmp"; then
  echo "release: ${labelled} of ${objects} objects labelled, or an image left unresolved" >&2
  exit 1
fi
mv "${out}.tmp" "${out}"
echo "release ${VERSION}: ${objects} objects, images for ${platforms}, written to ${out}"
