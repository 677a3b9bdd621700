#!/usr/bin/env bash
# Builds Tekton Pipelines from its own module source with ko and installs
# it from its own config/ YAML, as its users install a release. Only the
# harness adapts it: remote resolvers are left out (their upstream base
# image is not available here) and the shell image is the local busybox.
#
#   tekton.sh build    resolve the YAML and push the images (cached)
#   tekton.sh install  apply it and wait for the webhook and controller
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TEKTON_DIR="${RM_CACHE_DIR}/tekton/${TEKTON_VERSION}"
RELEASE="${TEKTON_DIR}/release.yaml"

build() {
  if [[ -f "${RELEASE}" ]] && "$(dirname "${BASH_SOURCE[0]}")/image-cache.sh" restore "${TEKTON_DIR}/images"; then
    echo "tekton ${TEKTON_VERSION} images restored from ${TEKTON_DIR}"
    return 0
  fi
  local src work base
  src="$(cd "${REPO_ROOT}/hack/tekton" && go mod download github.com/tektoncd/pipeline && go list -m -f '{{.Dir}}' github.com/tektoncd/pipeline)"
  base="$(base_image)"
  work="$(mktemp -d)"
  trap 'rm -rf "${work}"' RETURN
  cp -r "${src}/config" "${work}/config"
  chmod -R u+w "${work}/config"
  rm -rf "${work}/config/resolvers"
  sed -i -E 's#"-shell-image", "[^"]+"#"-shell-image", "'"${REGISTRY}"'/library/busybox:latest"#' "${work}/config/controller.yaml"
  mkdir -p "${TEKTON_DIR}"
  (
    cd "${REPO_ROOT}/hack/tekton"
    KO_DOCKER_REPO="${REGISTRY}/tekton" KO_DEFAULTBASEIMAGE="${base}" \
      ko resolve -R -f "${work}/config" --sbom=none --platform="linux/$(go env GOARCH)" --insecure-registry > "${RELEASE}.tmp"
  )
  mv "${RELEASE}.tmp" "${RELEASE}"
  "$(dirname "${BASH_SOURCE[0]}")/image-cache.sh" save "${TEKTON_DIR}/images" \
    $(grep -oE "${REGISTRY}/tekton/[^\"' ]+" "${RELEASE}" | sort -u)
}

install() {
  kc apply -f "${RELEASE}" >/dev/null
  kc -n tekton-pipelines rollout status deploy/tekton-pipelines-webhook --timeout=180s
  kc -n tekton-pipelines rollout status deploy/tekton-pipelines-controller --timeout=180s
  kc -n tekton-pipelines rollout status deploy/tekton-events-controller --timeout=180s
}

"$@"
