#!/usr/bin/env bash
# Installs rancher/local-path-provisioner, the dynamic provisioner kind
# ships, as the default StorageClass, so volumeClaimTemplate workspaces
# get real volumes. Built from its module source; its own deploy YAML is
# used with the image, helper image and storage path changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LPP_VERSION="${LPP_VERSION:-v0.0.30}"
LPP_DIR="${RM_CACHE_DIR}/local-path/${LPP_VERSION}"
IMAGE="${REGISTRY}/local-path-provisioner:${LPP_VERSION}"

build() {
  if [[ -x "${LPP_DIR}/local-path-provisioner" ]]; then
    return 0
  fi
  local src work
  src="$(cd /tmp && go mod download -json "github.com/rancher/local-path-provisioner@${LPP_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  work="$(mktemp -d)"
  cp -r "${src}/." "${work}/"
  chmod -R u+w "${work}"
  rm -rf "${work}/vendor"
  mkdir -p "${LPP_DIR}"
  (cd "${work}" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${LPP_DIR}/local-path-provisioner" .)
  cp "${src}/deploy/local-path-storage.yaml" "${LPP_DIR}/local-path-storage.yaml"
  rm -rf "${work}"
}

push() {
  local work
  work="$(mktemp -d)"
  mkdir -p "${work}/root/usr/bin"
  cp "${LPP_DIR}/local-path-provisioner" "${work}/root/usr/bin/"
  tar --numeric-owner --owner=0 --group=0 -C "${work}/root" -cf "${work}/layer.tar" .
  crane append --insecure -b "${REGISTRY}/base:latest" -f "${work}/layer.tar" -t "${IMAGE}" >/dev/null 2>&1
  crane mutate --insecure "${IMAGE}" --user 0 --entrypoint=/usr/bin/local-path-provisioner -t "${IMAGE}" >/dev/null 2>&1
  rm -rf "${work}"
}

install() {
  mkdir -p "${CLUSTER_DIR}/local-path"
  sed -e "s#image: rancher/local-path-provisioner:${LPP_VERSION}#image: ${IMAGE}#" \
      -e "s#image: busybox#image: ${REGISTRY}/library/busybox:latest#" \
      -e "s#/opt/local-path-provisioner#${CLUSTER_DIR}/local-path#" \
      "${LPP_DIR}/local-path-storage.yaml" | kc apply -f - >/dev/null
  kc annotate storageclass local-path storageclass.kubernetes.io/is-default-class=true --overwrite >/dev/null
  kc -n local-path-storage rollout status deploy/local-path-provisioner --timeout=120s
}

"$@"
