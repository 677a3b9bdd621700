#!/usr/bin/env bash
# The local registry keeps manifests in memory, so images pushed in an
# earlier run are saved as tarballs and pushed again after a restart.
#
#   image-cache.sh save DIR REF...   save each image under DIR
#   image-cache.sh restore DIR       push every saved image; fails if none
set -euo pipefail

cmd="$1" dir="$2"
shift 2
case "${cmd}" in
  save)
    rm -rf "${dir}"
    mkdir -p "${dir}"
    i=0
    for ref in "$@"; do
      crane pull --insecure "${ref}" "${dir}/${i}.tar" 2>/dev/null
      echo "${ref}" > "${dir}/${i}.ref"
      i=$((i + 1))
    done
    ;;
  restore)
    compgen -G "${dir}/*.ref" >/dev/null || exit 1
    for f in "${dir}"/*.ref; do
      ref="$(cat "${f}")"
      # A ko reference is name@sha256:digest; push by tag-less name.
      crane push --insecure "${f%.ref}.tar" "${ref%@*}" >/dev/null 2>&1
    done
    ;;
esac
