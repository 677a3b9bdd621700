#!/usr/bin/env bash
# A single-node Kubernetes with Tekton and ResultMaterialize, built here
# from source. All state lives under CLUSTER_DIR; built binaries and images
# are cached under RM_CACHE_DIR so later runs skip the builds.
#
#   hack/cluster.sh up       build or reuse everything, start the cluster,
#                            install Tekton, the provisioner and the controller
#   hack/cluster.sh down     stop everything and remove all state
#   hack/cluster.sh status   print what runs
#   hack/cluster.sh env      print the export line for KUBECONFIG
#   hack/cluster.sh install  (re)install the controller with ko apply -f config/
#   hack/cluster.sh install-release FILE
#                            install a release.yaml (make release) instead
#   hack/cluster.sh restart-apiserver
#                            stop kube-apiserver and start it again (make chaos)
set -euo pipefail
LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
export _start_seconds="$(date +%s)"
source "${LIB}/common.sh"

node_ip() {
  ip -4 route get 192.0.2.255 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1 \
    || hostname -I | awk '{print $1}'
}

install_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v socat >/dev/null || missing+=(socat)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v s3fs >/dev/null || missing+=(s3fs)
  command -v rclone >/dev/null || missing+=(rclone)
  if (( ${#missing[@]} )); then
    stage "installing ${missing[*]} from apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! command -v ko >/dev/null || ! command -v crane >/dev/null; then
    stage "installing ko and crane"
    GOBIN=/usr/local/bin go install github.com/google/ko@v0.19.1
    GOBIN=/usr/local/bin go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
  fi
}

# install_controller installs ResultMaterialize exactly as the README
# tells users: ko apply -f config/. Only the image repository and ko's
# base image are the harness's.
install_controller() {
  local base
  base="$(base_image)"
  (
    cd "${REPO_ROOT}"
    KO_DOCKER_REPO="${REGISTRY}/resultmaterialize" KO_DEFAULTBASEIMAGE="${base}" \
      KUBECONFIG="${KUBECONFIG_LOCAL}" ko apply --insecure-registry --sbom=none --platform="linux/$(go env GOARCH)" -f config/ >/dev/null
  )
  kc -n resultmaterialize rollout restart deploy/resultmaterialize-controller >/dev/null
  kc -n resultmaterialize rollout status deploy/resultmaterialize-controller --timeout=180s
}

cmd_up() {
  install_packages
  # State left by a run whose processes were killed (a stopped session or
  # CI job) is torn down first, so up always starts clean.
  if [[ -d "${CLUSTER_DIR}" ]] && ! { [[ -f "${CLUSTER_DIR}/run/kube-apiserver.pid" ]] \
      && kill -0 "$(cat "${CLUSTER_DIR}/run/kube-apiserver.pid")" 2>/dev/null; }; then
    stage "removing a stopped cluster's state"
    cmd_down
  fi
  export NODE_IP="$(node_ip)"
  stage "kubernetes ${KUBE_VERSION} binaries"
  "${LIB}/build-kube.sh"
  stage "registry and base images"
  "${LIB}/images.sh"
  stage "tekton ${TEKTON_VERSION} images"
  "${LIB}/tekton.sh" build
  stage "local-path-provisioner"
  "${LIB}/local-path.sh" build
  "${LIB}/local-path.sh" push
  stage "versitygw ${VERSITYGW_VERSION:-v1.8.0} and the test CSI driver"
  "${LIB}/s3.sh" build
  stage "certificates"
  "${LIB}/pki.sh"
  stage "etcd"
  "${LIB}/node.sh" start_etcd
  stage "kube-apiserver"
  "${LIB}/node.sh" start_apiserver
  stage "controller-manager and scheduler"
  "${LIB}/node.sh" start_controllers
  stage "containerd, kubelet and kube-proxy"
  "${LIB}/node.sh" start_node
  stage "node ${NODE_NAME} Ready; installing local-path-provisioner"
  "${LIB}/local-path.sh" install
  stage "S3 server, test CSI driver and S3 StorageClasses"
  "${LIB}/s3.sh" start
  "${LIB}/s3.sh" install
  "${LIB}/images.sh" expose
  stage "installing tekton ${TEKTON_VERSION}"
  "${LIB}/tekton.sh" install
  stage "installing resultmaterialize (ko apply -f config/)"
  install_controller
  stage "cluster ready: export KUBECONFIG=${KUBECONFIG_LOCAL}"
}

# stop_daemon stops a process the harness started, by its pidfile.
stop_daemon() {
  local pidfile="${CLUSTER_DIR}/run/$1.pid"
  [[ -f "${pidfile}" ]] || return 0
  kill "$(cat "${pidfile}")" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$(cat "${pidfile}")" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$(cat "${pidfile}")" 2>/dev/null || true
  rm -f "${pidfile}"
}

cmd_down() {
  local name pidfile
  for name in kube-proxy kubelet containerd; do
    stop_daemon "${name}"
  done
  for pidfile in "${CLUSTER_DIR}"/run/csi-s3-*.pid; do
    if [[ -f "${pidfile}" ]]; then stop_daemon "$(basename "${pidfile}" .pid)"; fi
  done
  "${LIB}/s3.sh" stop_mounters
  for name in registry-pods versitygw kube-scheduler kube-controller-manager kube-apiserver etcd registry; do
    stop_daemon "${name}"
  done
  # Only the shims of the harness's own containerd (its socket is under
  # CLUSTER_DIR); another runtime's shims on this machine are left alone.
  pkill -9 -f "containerd-shim-runc-v2 .*-address ${CLUSTER_DIR}/" 2>/dev/null || true
  sleep 1
  if [[ -d "${CLUSTER_DIR}" ]]; then
    { grep -o " ${CLUSTER_DIR}[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "${m}" 2>/dev/null || true; done
  fi
  ip link delete cni0 2>/dev/null || true
  for table in filter nat mangle; do
    iptables-save -t "${table}" | grep -v -- '-j CNI-\|-j KUBE-\|^:CNI-\|^:KUBE-\|-A CNI-\|-A KUBE-' | iptables-restore -T "${table}" 2>/dev/null || true
  done
  rm -rf "${CLUSTER_DIR}"
  stage "cluster down"
}

cmd_status() {
  local name pidfile
  for name in registry etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy \
      versitygw registry-pods $(cd "${CLUSTER_DIR}/run" 2>/dev/null && ls csi-s3-*.pid 2>/dev/null | sed 's/\.pid$//'); do
    pidfile="${CLUSTER_DIR}/run/${name}.pid"
    if [[ -f "${pidfile}" ]] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
      echo "${name}: running (pid $(cat "${pidfile}"))"
    else
      echo "${name}: stopped"
    fi
  done
  kc get nodes 2>/dev/null || true
}

cmd_env() {
  echo "export KUBECONFIG=${KUBECONFIG_LOCAL}"
  # The registry as the host reaches it, as pods do, and its request log:
  # the e2e suite's export tests (docs/durable-references.md).
  local gateway
  gateway="$(ip -4 -o addr show cni0 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)"
  if [[ -n "${gateway}" ]]; then
    echo "export RM_E2E_REGISTRY=${REGISTRY} RM_E2E_POD_REGISTRY=${gateway}:${REGISTRY##*:} RM_E2E_REGISTRY_LOG=${CLUSTER_DIR}/log/registry.log"
  fi
}

cmd_install() {
  install_controller
}

# install_release installs a release.yaml as users do: kubectl apply -f.
cmd_install_release() {
  local file="${1:?usage: $0 install-release FILE}"
  kc apply -f "${file}" >/dev/null
  kc -n resultmaterialize rollout status deploy/resultmaterialize-controller --timeout=180s
  stage "installed $(grep -m1 -o 'app.kubernetes.io/version: "[^"]*"' "${file}")"
}

# alive tells whether a process runs; a zombie (its parent, the shell
# that started it, is gone and nothing reaps it) does not.
alive() {
  [[ "$1" != 0 ]] && [[ -r "/proc/$1/stat" ]] && [[ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]]
}

cmd_restart_apiserver() {
  local pidfile="${CLUSTER_DIR}/run/kube-apiserver.pid"
  [[ -f "${pidfile}" ]] || { echo "kube-apiserver is not running" >&2; exit 1; }
  local pid
  pid="$(cat "${pidfile}")"
  # A pid reused by another process since is not ours to kill.
  if ! tr '\0' ' ' < "/proc/${pid}/cmdline" 2>/dev/null | grep -q kube-apiserver; then
    pid=0
  fi
  if [[ "${pid}" != 0 ]]; then
    kill "${pid}" 2>/dev/null || true
  fi
  for _ in $(seq 1 60); do alive "${pid}" || break; sleep 0.5; done
  if alive "${pid}"; then
    kill -9 "${pid}"
    sleep 1
  fi
  if alive "${pid}"; then
    echo "kube-apiserver (pid ${pid}) would not stop" >&2
    exit 1
  fi
  rm -f "${pidfile}"
  NODE_IP="$(node_ip)" "${LIB}/node.sh" start_apiserver
  stage "kube-apiserver restarted"
}

case "${1:-up}" in
  up|down|status|env|install) "cmd_${1:-up}" ;;
  restart-apiserver) cmd_restart_apiserver ;;
  install-release) cmd_install_release "${2:-}" ;;
  *) echo "usage: $0 up|down|status|env|install|install-release FILE|restart-apiserver" >&2; exit 2 ;;
esac
