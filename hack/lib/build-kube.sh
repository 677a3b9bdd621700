#!/usr/bin/env bash
# Builds the Kubernetes binaries the local cluster needs from the
# k8s.io/kubernetes Go module, in a throwaway module that replaces every
# staging module with its published version. Binaries are cached by version
# outside the repository so later runs skip the build.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
STAGING_VERSION="v0${KUBE_VERSION#v1}"
CACHE_DIR="${RM_CACHE_DIR:-/var/cache/resultmaterialize}"
OUT="${CACHE_DIR}/kube/${KUBE_VERSION}"
CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

have_all() {
  local c
  for c in "${CMDS[@]}"; do [[ -x "${OUT}/${c}" ]] || return 1; done
}

if have_all; then
  echo "kubernetes ${KUBE_VERSION} binaries cached in ${OUT}"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
cd "${work}"
export GOFLAGS=-mod=mod CGO_ENABLED=0

gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
staging=()
while read -r mod; do
  case "${mod}" in
    k8s.io/sample-cli-plugin|k8s.io/sample-controller) ;;
    *) staging+=("${mod}") ;;
  esac
done < <(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "${gomod}")

{
  echo "module kubebuild"
  echo
  echo "go 1.24"
  echo
  echo "require k8s.io/kubernetes ${KUBE_VERSION}"
  echo
  for mod in "${staging[@]}"; do echo "replace ${mod} => ${mod} ${STAGING_VERSION}"; done
} > go.mod

pkgs=()
for c in "${CMDS[@]}"; do
  case "${c}" in
    kubectl) pkgs+=("k8s.io/kubernetes/cmd/kubectl") ;;
    *) pkgs+=("k8s.io/kubernetes/cmd/${c}") ;;
  esac
done
go get "${pkgs[@]/%/@${KUBE_VERSION}}"

ldflags="-s -w"
for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X ${v}.gitVersion=${KUBE_VERSION} -X ${v}.gitMajor=1"
  ldflags+=" -X ${v}.gitMinor=$(echo "${KUBE_VERSION}" | cut -d. -f2)"
  ldflags+=" -X ${v}.gitTreeState=clean -X ${v}.buildDate=1970-01-01T00:00:00Z"
done

mkdir -p "${OUT}.tmp"
for i in "${!CMDS[@]}"; do
  echo "building ${CMDS[$i]}"
  go build -trimpath -ldflags "${ldflags}" -o "${OUT}.tmp/${CMDS[$i]}" "${pkgs[$i]}"
done
rm -rf "${OUT}"
mv "${OUT}.tmp" "${OUT}"
echo "kubernetes ${KUBE_VERSION} binaries built in ${OUT}"
