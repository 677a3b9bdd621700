#!/usr/bin/env bash
# Runs examples/pipelinerun.yaml and prints what ResultMaterialize
# surfaced and which tasks ran or were skipped. Without KUBECONFIG it
# brings up the local cluster first (and leaves it running: stop it with
# hack/cluster.sh down); with KUBECONFIG it uses that cluster, which must
# have Tekton and ResultMaterialize installed.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NS="${DEMO_NAMESPACE:-resultmaterialize-demo}"

start="$(date +%s)"
if [[ -z "${KUBECONFIG:-}" ]]; then
  "${REPO_ROOT}/hack/cluster.sh" up
  eval "$("${REPO_ROOT}/hack/cluster.sh" env)"
fi
ready="$(date +%s)"
KUBECTL="$(command -v kubectl || echo /var/cache/resultmaterialize/kube/v1.34.4/kubectl)"
k() { "${KUBECTL}" -n "${NS}" "$@"; }

"${KUBECTL}" create namespace "${NS}" --dry-run=client -o yaml | "${KUBECTL}" apply -f - >/dev/null
k apply -f <(sed '/^---$/,$d' "${REPO_ROOT}/examples/pipelinerun.yaml") >/dev/null
pr="$(k create -f <(sed '1,/^---$/d' "${REPO_ROOT}/examples/pipelinerun.yaml") -o name)"
echo "started ${pr} in namespace ${NS}"
k wait --for=condition=Succeeded --timeout=300s "${pr}" >/dev/null || true
name="${pr#*/}"

echo
echo "PipelineRun ${name}: $(k get "${pr}" -o jsonpath='{.status.conditions[0].reason}')"
echo
echo "Results of the materialize CustomRun:"
run="$(k get customrun -l "tekton.dev/pipelineRun=${name}" -o name)"
k get "${run}" -o jsonpath='{range .status.results[*]}{"  "}{.name}{" = "}{.value}{"\n"}{end}'
echo
echo "Per-result table (status.extraFields):"
k get "${run}" -o jsonpath='{range .status.extraFields.results[*]}{"  "}{.name}{": "}{.reason}{", "}{.size}{" bytes, path "}{.path}{"\n"}{end}'
echo
echo "Tasks that ran:"
k get taskrun -l "tekton.dev/pipelineRun=${name}" -o jsonpath='{range .items[*]}{"  "}{.metadata.labels.tekton\.dev/pipelineTask}{": "}{.status.conditions[0].reason}{"\n"}{end}'
echo "  materialize: $(k get "${run}" -o jsonpath='{.status.conditions[0].reason}')"
echo "Tasks skipped:"
k get "${pr}" -o jsonpath='{range .status.skippedTasks[*]}{"  "}{.name}{": "}{.reason}{"\n"}{end}'
echo
echo "The cluster took $(( ready - start ))s to be ready (its stages are above); the pipeline ran in $(( $(date +%s) - ready ))s."
