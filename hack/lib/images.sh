#!/usr/bin/env bash
# Starts the local registry and pushes the images the cluster needs that
# cannot be pulled from anywhere here: a base image for ko, busybox (served
# as docker.io/library/busybox through containerd's mirror config) and the
# pause image.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

start_registry() {
  mkdir -p "${RM_CACHE_DIR}/registry"
  daemon registry crane registry serve --address "${REGISTRY}" --disk "${RM_CACHE_DIR}/registry"
  wait_for 30 "the registry" curl -sf "http://${REGISTRY}/v2/"
}

# rootfs_tar packs a directory as a layer with root ownership.
rootfs_tar() {
  tar --numeric-owner --owner=0 --group=0 -C "$1" -cf "$2" .
}

push_base() {
  local dir="$1/base"
  mkdir -p "${dir}/etc/ssl/certs" "${dir}/tmp" "${dir}/home/nonroot"
  chmod 1777 "${dir}/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "${dir}/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "${dir}/etc/group"
  cp /etc/ssl/certs/ca-certificates.crt "${dir}/etc/ssl/certs/"
  rootfs_tar "${dir}" "$1/base.tar"
  # The layer holds no binaries, so one layer serves every architecture:
  # base:latest is an index of linux/amd64 and linux/arm64, as ko needs to
  # build both (make release).
  crane append --insecure -f "$1/base.tar" -t "${REGISTRY}/base:layer" >/dev/null
  local arch
  for arch in amd64 arm64; do
    crane mutate --insecure "${REGISTRY}/base:layer" --set-platform "linux/${arch}" --user 65532 -t "${REGISTRY}/base:${arch}" >/dev/null
  done
  crane index append --insecure -m "${REGISTRY}/base:amd64" -m "${REGISTRY}/base:arm64" -t "${REGISTRY}/base:latest" >/dev/null
}

push_busybox() {
  local dir="$1/busybox"
  mkdir -p "${dir}/bin" "${dir}/tmp" "${dir}/etc"
  chmod 1777 "${dir}/tmp"
  cp /bin/busybox "${dir}/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ "${applet}" == busybox ]] || ln -sf busybox "${dir}/bin/${applet}"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "${dir}/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "${dir}/etc/group"
  rootfs_tar "${dir}" "$1/busybox.tar"
  crane append --insecure -f "$1/busybox.tar" -t "${REGISTRY}/library/busybox:latest" >/dev/null
  crane mutate --insecure "${REGISTRY}/library/busybox:latest" --set-platform linux/amd64 \
    --entrypoint=/bin/sh -e PATH=/bin -t "${REGISTRY}/library/busybox:latest" >/dev/null
}

push_pause() {
  local dir="$1/pause"
  mkdir -p "${dir}/src" "${dir}/root"
  cat > "${dir}/src/main.go" <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
GO
  (cd "${dir}/src" && printf 'module pause\n\ngo 1.24\n' > go.mod && CGO_ENABLED=0 go build -ldflags="-s -w" -o "${dir}/root/pause" .)
  rootfs_tar "${dir}/root" "$1/pause.tar"
  crane append --insecure -f "$1/pause.tar" -t "${REGISTRY}/pause:3.10" >/dev/null
  crane mutate --insecure "${REGISTRY}/pause:3.10" --set-platform linux/amd64 --entrypoint=/pause -t "${REGISTRY}/pause:3.10" >/dev/null
}

# expose_registry makes the registry reachable from pods, for the export
# of results as OCI artifacts (docs/durable-references.md): socat forwards
# the pod network's gateway, port 5000, to it. The host's own network
# still cannot reach it.
expose_registry() {
  local gateway
  gateway="$(ip -4 -o addr show cni0 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)"
  [[ -n "${gateway}" ]] || { echo "no cni0 address: the registry is exposed after the first pod" >&2; return 1; }
  daemon registry-pods socat "TCP-LISTEN:${REGISTRY##*:},bind=${gateway},fork,reuseaddr" "TCP:${REGISTRY}"
  wait_for 30 "the registry on ${gateway}" curl -sf "http://${gateway}:${REGISTRY##*:}/v2/"
}

main() {
  if [[ "${1:-}" == expose ]]; then
    expose_registry
    return
  fi
  start_registry
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "${work}"' RETURN
  # The registry keeps manifests in memory: push again after each start.
  push_base "${work}"
  push_busybox "${work}"
  push_pause "${work}"
}

main "$@"
