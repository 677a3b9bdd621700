#!/usr/bin/env bash
# Fails when the committed generated code differs from what
# hack/update-codegen.sh produces.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

cp -a "${REPO_ROOT}/." "${TMP}/"
"${TMP}/hack/update-codegen.sh" >/dev/null
for dir in pkg/client pkg/apis; do
  if ! diff -Naupr "${REPO_ROOT}/${dir}" "${TMP}/${dir}"; then
    echo "${dir} is out of date: run hack/update-codegen.sh" >&2
    exit 1
  fi
done
echo "generated code is up to date"
