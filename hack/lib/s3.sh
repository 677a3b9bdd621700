#!/usr/bin/env bash
# Object storage behind workspaces: versitygw (an S3 gateway over a local
# directory, built from its module) and the project's test CSI driver
# (test/csi-s3), which mounts bucket prefixes with s3fs or rclone as
# yandex-cloud/k8s-csi-s3 does. The driver runs on the node as a host
# process, as the kubelet does here: the mounters are Debian's s3fs and
# rclone on the host, with no image to build and no mount propagation to
# arrange, and a restart of the driver leaves the FUSE mounts alive, as
# k8s-csi-s3's node plugin does.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
VERSITYGW="${RM_CACHE_DIR}/versitygw/${VERSITYGW_VERSION}/versitygw"
S3_DIR="${CLUSTER_DIR}/s3"
S3_PORT="${S3_PORT:-7070}"
S3_BUCKET=resultmaterialize
# The test driver runs under k8s-csi-s3's name in its PV shape (the
# bucket and prefix in the volume handle) and under datashim's csi-s3
# name in that driver's (the bucket and folder in the Secret).
S3_DRIVERS=(ru.yandex.s3.csi ch.ctrox.csi.s3-driver)
declare -A S3_BUCKET_FROM=([ru.yandex.s3.csi]=volumeHandle [ch.ctrox.csi.s3-driver]=secret)

build() {
  if [[ ! -x "${VERSITYGW}" ]]; then
    mkdir -p "$(dirname "${VERSITYGW}")"
    (cd /tmp && GOBIN="$(dirname "${VERSITYGW}")" CGO_ENABLED=0 go install -trimpath -ldflags="-s -w" \
      "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}")
  fi
  mkdir -p "${CLUSTER_DIR}/bin"
  # Built as ko builds the controller, so the two share compiled packages.
  (cd "${REPO_ROOT}" && CGO_ENABLED=0 go build -trimpath -o "${CLUSTER_DIR}/bin/csi-s3" ./test/csi-s3)
}

# endpoint is where versitygw listens: the pod network's gateway on the
# node, which the node and every pod reach and the host's own network
# does not.
endpoint() {
  local gateway
  gateway="$(ip -4 -o addr show cni0 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)"
  [[ -n "${gateway}" ]] || { echo "no cni0 address: the S3 server starts after the first pod" >&2; return 1; }
  echo "${gateway}:${S3_PORT}"
}

# start runs versitygw with new credentials, its root holding nothing but
# buckets (it follows symlinks out of its root); then one driver per name.
start() {
  mkdir -p "${S3_DIR}/root"
  chmod 700 "${S3_DIR}"
  if [[ ! -f "${S3_DIR}/credentials" ]]; then
    (umask 077 && printf 'ROOT_ACCESS_KEY_ID=%s\nROOT_SECRET_ACCESS_KEY=%s\n' \
      "$(openssl rand -hex 10)" "$(openssl rand -hex 20)" > "${S3_DIR}/credentials")
  fi
  (
    set -a
    source "${S3_DIR}/credentials"
    daemon versitygw "${VERSITYGW}" --port "$(endpoint)" --quiet posix "${S3_DIR}/root"
  )
  wait_for 60 "versitygw on $(endpoint)" curl -s -o /dev/null "http://$(endpoint)/"
  local name
  for name in "${S3_DRIVERS[@]}"; do
    daemon "csi-s3-${name}" "${CLUSTER_DIR}/bin/csi-s3" -name "${name}" -bucket-from "${S3_BUCKET_FROM[${name}]}" \
      -kubelet-dir "${CLUSTER_DIR}/kubelet/root" -node "${NODE_NAME}" \
      -kubeconfig "${KUBECONFIG_LOCAL}" -state "${CLUSTER_DIR}/csi-s3/${name}"
  done
  for name in "${S3_DRIVERS[@]}"; do
    wait_for 60 "the kubelet to register ${name}" \
      sh -c "kubectl --kubeconfig '${KUBECONFIG_LOCAL}' get csinode '${NODE_NAME}' -o jsonpath='{.spec.drivers[*].name}' | grep -qw '${name}'"
  done
}

# install writes the credentials Secret as k8s-csi-s3 names and shapes it
# (on stdin: no key on a command line), a CSIDriver per name, and the
# StorageClasses the e2e suite uses.
install() {
  source "${S3_DIR}/credentials"
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata:
  namespace: kube-system
  name: csi-s3-secret
stringData:
  accessKeyID: ${ROOT_ACCESS_KEY_ID}
  secretAccessKey: ${ROOT_SECRET_ACCESS_KEY}
  endpoint: http://$(endpoint)
  region: us-east-1
YAML
  local name
  for name in "${S3_DRIVERS[@]}"; do
    kc apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: ${name}
spec:
  attachRequired: false
  podInfoOnMount: true
YAML
  done
  storage_class csi-s3-s3fs ru.yandex.s3.csi s3fs ""
  storage_class csi-s3-rclone ru.yandex.s3.csi rclone "--vfs-write-back 5s"
  storage_class csi-s3-rclone-late ru.yandex.s3.csi rclone "--vfs-write-back 45s"
}

storage_class() {
  local class="$1" driver="$2" mounter="$3" options="$4" kind
  local refs=""
  for kind in provisioner controller-publish node-stage node-publish; do
    refs+="  csi.storage.k8s.io/${kind}-secret-name: csi-s3-secret"$'\n'
    refs+="  csi.storage.k8s.io/${kind}-secret-namespace: kube-system"$'\n'
  done
  kc apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ${class}
provisioner: ${driver}
reclaimPolicy: Delete
volumeBindingMode: Immediate
parameters:
  bucket: ${S3_BUCKET}
  mounter: ${mounter}
  options: "${options}"
${refs}
YAML
}

# stop_mounters stops the FUSE mounters by the pids the drivers kept. A
# pid is ours only while it runs s3fs or rclone with a mount path of this
# cluster on its command line: a pid reused since is left alone.
stop_mounters() {
  local pidfile pid
  for pidfile in "${CLUSTER_DIR}"/csi-s3/*/pids/*.pid; do
    [[ -f "${pidfile}" ]] || continue
    pid="$(cat "${pidfile}")"
    if ours "${pid}"; then
      kill "${pid}" 2>/dev/null || true
      for _ in $(seq 1 20); do ours "${pid}" || break; sleep 0.5; done
      if ours "${pid}"; then kill -9 "${pid}" 2>/dev/null || true; fi
    fi
    rm -f "${pidfile}"
  done
}

ours() {
  case "$(basename "$(readlink "/proc/$1/exe" 2>/dev/null)")" in
    s3fs|rclone) tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | grep -q "^${CLUSTER_DIR}/kubelet/" ;;
    *) return 1 ;;
  esac
}

"$@"
