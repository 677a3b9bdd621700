#!/usr/bin/env bash
# Starts the control plane and the node: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PKI="${CLUSTER_DIR}/pki"
NODE_IP="${NODE_IP:?NODE_IP is required}"
CTRD="${CLUSTER_DIR}/containerd"

start_etcd() {
  daemon etcd etcd --name local --data-dir "${CLUSTER_DIR}/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster local=http://127.0.0.1:2380
  wait_for 60 etcd curl -sf http://127.0.0.1:2379/health
}

start_apiserver() {
  daemon kube-apiserver kube-apiserver \
    --etcd-servers=http://127.0.0.1:2379 \
    --secure-port=6443 --bind-address=0.0.0.0 --advertise-address="${NODE_IP}" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --client-ca-file="${PKI}/ca.crt" \
    --tls-cert-file="${PKI}/apiserver.crt" --tls-private-key-file="${PKI}/apiserver.key" \
    --kubelet-client-certificate="${PKI}/apiserver-kubelet-client.crt" \
    --kubelet-client-key="${PKI}/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="${PKI}/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="${PKI}/sa.pub" \
    --service-account-signing-key-file="${PKI}/sa.key" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction,OwnerReferencesPermissionEnforcement \
    --allow-privileged=true
  wait_for 120 "kube-apiserver /readyz" curl -sf --cacert "${PKI}/ca.crt" \
    --cert "${PKI}/admin.crt" --key "${PKI}/admin.key" https://127.0.0.1:6443/readyz
}

start_controllers() {
  daemon kube-controller-manager kube-controller-manager \
    --kubeconfig="${PKI}/controller-manager.kubeconfig" \
    --authentication-kubeconfig="${PKI}/controller-manager.kubeconfig" \
    --authorization-kubeconfig="${PKI}/controller-manager.kubeconfig" \
    --service-account-private-key-file="${PKI}/sa.key" --root-ca-file="${PKI}/ca.crt" \
    --cluster-signing-cert-file="${PKI}/ca.crt" --cluster-signing-key-file="${PKI}/ca.key" \
    --use-service-account-credentials=true --leader-elect=false --bind-address=127.0.0.1
  daemon kube-scheduler kube-scheduler \
    --kubeconfig="${PKI}/scheduler.kubeconfig" \
    --authentication-kubeconfig="${PKI}/scheduler.kubeconfig" \
    --authorization-kubeconfig="${PKI}/scheduler.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1
}

write_containerd_config() {
  mkdir -p "${CTRD}/certs.d/${REGISTRY}" "${CTRD}/certs.d/docker.io" "${CLUSTER_DIR}/cni/net.d"
  cat > "${CTRD}/config.toml" <<TOML
version = 2
root = "${CTRD}/root"
state = "${CTRD}/state"
[grpc]
  address = "${CTRD}/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${REGISTRY}/pause:3.10"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${CLUSTER_DIR}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${CTRD}/certs.d"
TOML
  cat > "${CTRD}/certs.d/${REGISTRY}/hosts.toml" <<TOML
server = "http://${REGISTRY}"
[host."http://${REGISTRY}"]
  capabilities = ["pull", "resolve"]
TOML
  # Public image names in examples (busybox) are served by the local
  # registry: nothing here can reach Docker Hub.
  cat > "${CTRD}/certs.d/docker.io/hosts.toml" <<TOML
server = "https://registry-1.docker.io"
[host."http://${REGISTRY}"]
  capabilities = ["pull", "resolve"]
TOML
  cat > "${CLUSTER_DIR}/cni/net.d/10-bridge.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "resultmaterialize",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
               "dataDir": "${CLUSTER_DIR}/cni/ipam"}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

start_node() {
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  write_containerd_config
  daemon containerd containerd --config "${CTRD}/config.toml"
  wait_for 30 containerd test -S "${CTRD}/containerd.sock"
  mkdir -p "${CLUSTER_DIR}/kubelet"
  cat > "${CLUSTER_DIR}/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://${CTRD}/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${PKI}/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: ${PKI}/kubelet-serving.crt
tlsPrivateKeyFile: ${PKI}/kubelet-serving.key
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
YAML
  daemon kubelet kubelet --config="${CLUSTER_DIR}/kubelet/config.yaml" \
    --kubeconfig="${PKI}/kubelet.kubeconfig" --root-dir="${CLUSTER_DIR}/kubelet/root" \
    --hostname-override="${NODE_NAME}" --node-ip="${NODE_IP}"
  daemon kube-proxy kube-proxy --kubeconfig="${PKI}/kube-proxy.kubeconfig" \
    --hostname-override="${NODE_NAME}" --proxy-mode=iptables --cluster-cidr=10.244.0.0/16 \
    --conntrack-max-per-core=0
  wait_for 120 "node ${NODE_NAME} Ready" kc wait --for=condition=Ready "node/${NODE_NAME}" --timeout=2s
}

"$@"
