#!/usr/bin/env bash
# Runs the cluster benchmark (bench), the chaos run (chaos) or the
# object-store mounters against local-path (storage) from
# test/bench. Without KUBECONFIG it brings up the local cluster (or reuses
# a running one) and leaves it up; the API server restart of the chaos run
# needs the local cluster and is skipped elsewhere.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
mode="${1:?usage: $0 bench|chaos|storage|direct|stage|plugin|export}"

restart=""
if [[ -z "${KUBECONFIG:-}" ]]; then
  "${REPO_ROOT}/hack/cluster.sh" up
  eval "$("${REPO_ROOT}/hack/cluster.sh" env)"
  restart="${REPO_ROOT}/hack/cluster.sh restart-apiserver"
fi
go run ./test/bench -mode "${mode}" -out "${REPO_ROOT}/bench-results" -restart-apiserver "${restart}"
