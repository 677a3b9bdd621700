#!/usr/bin/env bash
# Creates the cluster's certificates and kubeconfigs with openssl, once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PKI="${CLUSTER_DIR}/pki"
NODE_IP="${NODE_IP:?NODE_IP is required}"

cert() {
  local name="$1" cn="$2" org="$3" ext="$4"
  [[ -f "${PKI}/${name}.crt" ]] && return 0
  openssl genrsa -out "${PKI}/${name}.key" 2048 2>/dev/null
  local subj="/CN=${cn}"
  [[ -n "${org}" ]] && subj="/O=${org}${subj}"
  openssl req -new -key "${PKI}/${name}.key" -subj "${subj}" -out "${PKI}/${name}.csr" 2>/dev/null
  printf '%s\n' "${ext}" > "${PKI}/${name}.ext"
  openssl x509 -req -in "${PKI}/${name}.csr" -CA "${PKI}/ca.crt" -CAkey "${PKI}/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "${PKI}/${name}.ext" -out "${PKI}/${name}.crt" 2>/dev/null
}

kubeconfig() {
  local name="$1"
  local f="${PKI}/${name}.kubeconfig"
  [[ -f "${f}" ]] && return 0
  cat > "${f}" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    certificate-authority-data: $(base64 -w0 < "${PKI}/ca.crt")
    server: https://127.0.0.1:6443
users:
- name: ${name}
  user:
    client-certificate-data: $(base64 -w0 < "${PKI}/${name}.crt")
    client-key-data: $(base64 -w0 < "${PKI}/${name}.key")
contexts:
- name: local
  context: {cluster: local, user: ${name}}
current-context: local
KC
}

mkdir -p "${PKI}"
if [[ ! -f "${PKI}/ca.crt" ]]; then
  openssl genrsa -out "${PKI}/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "${PKI}/ca.key" -subj "/CN=resultmaterialize-ca" -days 3650 -out "${PKI}/ca.crt" 2>/dev/null
fi
client="basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
cert apiserver kube-apiserver "" "basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:10.96.0.1,IP:${NODE_IP}"
cert kubelet-serving "system:node:${NODE_NAME}" system:nodes "basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:${NODE_NAME},DNS:localhost,IP:127.0.0.1,IP:${NODE_IP}"
cert admin admin system:masters "${client}"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "${client}"
cert controller-manager system:kube-controller-manager "" "${client}"
cert scheduler system:kube-scheduler "" "${client}"
cert kube-proxy system:kube-proxy "" "${client}"
cert kubelet "system:node:${NODE_NAME}" system:nodes "${client}"
if [[ ! -f "${PKI}/sa.key" ]]; then
  openssl genrsa -out "${PKI}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${PKI}/sa.key" -pubout -out "${PKI}/sa.pub" 2>/dev/null
fi
for n in admin controller-manager scheduler kube-proxy kubelet; do kubeconfig "${n}"; done
