#!/usr/bin/env bash
# Runs the e2e suite. Without KUBECONFIG it brings up the local cluster,
# runs the suite against it and tears it down, pass or fail.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"

if [[ -z "${KUBECONFIG:-}" ]]; then
  trap '"${REPO_ROOT}/hack/cluster.sh" down' EXIT
  "${REPO_ROOT}/hack/cluster.sh" up
  eval "$("${REPO_ROOT}/hack/cluster.sh" env)"
  # The local cluster has the S3 server and driver: their cases must run.
  export RM_E2E_OBJECT_STORE=required
fi
go test -tags e2e -count=1 -timeout 30m -v ./test/e2e/ 2>&1 | grep -vE '^\s+logger\.go|^=== (PAUSE|CONT)'
exit "${PIPESTATUS[0]}"
