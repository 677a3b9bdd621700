#!/usr/bin/env bash
# The local registry keeps blobs on disk but manifests in memory, so after
# a restart the images pushed earlier are gone though their layers remain.
# save records each manifest's exact bytes; restore puts them back, so
# every digest-pinned reference resolves again without a rebuild.
#
#   image-cache.sh save DIR REF...   record the manifests of REF@digest...
#   image-cache.sh restore DIR       put every recorded manifest back; fails
#                                    when none is recorded or a config blob is gone
set -euo pipefail

cmd="$1" dir="$2"
shift 2
case "${cmd}" in
  save)
    rm -rf "${dir}"
    mkdir -p "${dir}"
    i=0
    for ref in "$@"; do
      crane manifest --insecure "${ref}" > "${dir}/${i}.json"
      echo "${ref}" > "${dir}/${i}.ref"
      i=$((i + 1))
    done
    ;;
  restore)
    compgen -G "${dir}/*.ref" >/dev/null || exit 1
    for f in "${dir}"/*.ref; do
      ref="$(cat "${f}")"
      manifest="${f%.ref}.json"
      registry="${ref%%/*}" repo="${ref#*/}"
      repo="${repo%@*}" digest="${ref#*@}"
      media="$(grep -o '"mediaType": *"[^"]*"' "${manifest}" | head -1 | sed 's/.*: *"\(.*\)"/\1/')"
      curl -sf -X PUT -H "Content-Type: ${media}" --data-binary "@${manifest}" \
        "http://${registry}/v2/${repo}/manifests/${digest}" >/dev/null
      # A wiped registry directory lost the blobs too and needs a rebuild;
      # checking the manifest and its config blob tells, without pulling
      # every layer.
      crane validate --insecure --fast --remote "${ref}" >/dev/null 2>&1 || exit 1
    done
    ;;
esac
