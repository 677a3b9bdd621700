#!/usr/bin/env bash
# Shared settings and helpers for the local cluster scripts.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KUBE_VERSION="${KUBE_VERSION:-v1.34.4}"
# Tekton is built from the module hack/tekton/go.mod requires: its
# version names the cache folder of the images built from it.
TEKTON_VERSION="$(sed -n 's#^require github.com/tektoncd/pipeline \(v[^ ]*\)$#\1#p' "${REPO_ROOT}/hack/tekton/go.mod")"
RM_CACHE_DIR="${RM_CACHE_DIR:-/var/cache/resultmaterialize}"
CLUSTER_DIR="${CLUSTER_DIR:-/var/lib/resultmaterialize-cluster}"
REGISTRY="${REGISTRY:-127.0.0.1:5000}"
KUBE_BIN="${RM_CACHE_DIR}/kube/${KUBE_VERSION}"
NODE_NAME="$(hostname | tr '[:upper:]' '[:lower:]')"
export KUBECONFIG_LOCAL="${CLUSTER_DIR}/pki/admin.kubeconfig"
export PATH="${KUBE_BIN}:${PATH}"

_start_seconds="${_start_seconds:-$(date +%s)}"

# stage prints a stage heading with the seconds since the script started
# and how long the stage before it took.
stage() {
  local now took=""
  now="$(date +%s)"
  if [[ -n "${_stage_seconds:-}" ]]; then
    took=" (the stage before took $(( now - _stage_seconds ))s)"
  fi
  _stage_seconds="${now}"
  echo "[$(( now - _start_seconds ))s] $*${took}"
}

# wait_for runs a command until it succeeds or the timeout (seconds) passes.
wait_for() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) > deadline )); then
      echo "timed out after ${timeout}s waiting for ${what}" >&2
      return 1
    fi
    sleep 1
  done
}

# daemon starts a command in the background with a pidfile and a log, unless
# it already runs.
daemon() {
  local name="$1"
  shift
  local pidfile="${CLUSTER_DIR}/run/${name}.pid"
  mkdir -p "${CLUSTER_DIR}/run" "${CLUSTER_DIR}/log"
  if [[ -f "${pidfile}" ]] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
    return 0
  fi
  setsid "$@" >"${CLUSTER_DIR}/log/${name}.log" 2>&1 < /dev/null &
  echo $! > "${pidfile}"
}

# base_image prints the local base image by digest, as ko takes it: like
# .ko.yaml's pinned base, it names the very image pushed (images.sh), not
# whatever base:latest names when ko pulls it.
base_image() {
  crane digest --insecure --full-ref "${REGISTRY}/base:latest"
}

kc() {
  kubectl --kubeconfig "${KUBECONFIG_LOCAL}" "$@"
}
