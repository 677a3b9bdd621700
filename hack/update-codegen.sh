#!/usr/bin/env bash
# Regenerates deepcopy functions, the clientset, listers, informers and the
# knative injection packages for pkg/apis. Generated code is never edited.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
MODULE="$(go list -m)"
BOILERPLATE="${REPO_ROOT}/hack/boilerplate/boilerplate.go.txt"
go mod download k8s.io/code-generator
CODEGEN_PKG="$(go list -m -f '{{.Dir}}' k8s.io/code-generator)"
export GOBIN="${REPO_ROOT}/_output/bin"
export PATH="${GOBIN}:${PATH}"

# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
  --boilerplate "${BOILERPLATE}" \
  "${REPO_ROOT}/pkg/apis"

kube::codegen::gen_client \
  --with-watch \
  --output-dir "${REPO_ROOT}/pkg/client" \
  --output-pkg "${MODULE}/pkg/client" \
  --boilerplate "${BOILERPLATE}" \
  "${REPO_ROOT}/pkg/apis"

rm -rf "${REPO_ROOT}/pkg/client/injection"
go run knative.dev/pkg/codegen/cmd/injection-gen \
  --input-dirs "${MODULE}/pkg/apis/resultmaterialize/v1alpha1" \
  --versioned-clientset-package "${MODULE}/pkg/client/clientset/versioned" \
  --external-versions-informers-package "${MODULE}/pkg/client/informers/externalversions" \
  --listers-package "${MODULE}/pkg/client/listers" \
  --output-package "${MODULE}/pkg/client/injection" \
  --output-dir "pkg/client/injection" \
  --go-header-file "${BOILERPLATE}"

gofmt -s -w pkg/client pkg/apis
