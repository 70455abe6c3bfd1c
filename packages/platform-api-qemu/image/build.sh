#!/usr/bin/env bash
# Builds kola's test OS image: build.sh FLAVOR DEST   (FLAVOR: systemd | minimal)
#
# Everything is made in a temporary directory next to DEST (KOLA_IMAGE_TMPDIR, default DEST.tmp-PID)
# and renamed to DEST only once manifest.json is written, so an interrupted build never leaves
# something that looks like a finished image. Progress lines go to stderr. Exit status: 0 built,
# 1 failed, 3 a host tool or permission is missing (stderr names the apt command).
# Environment: KOLA_IMAGE_HASH (recorded in the manifest), KOLA_IMAGE_TMPDIR, KOLA_DEBIAN_MIRROR.
set -euo pipefail
KOLA_T0=$SECONDS
KOLA_IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KOLA_IMAGE_DIR
# shellcheck source=lib.sh
. "$KOLA_IMAGE_DIR/lib.sh"

[[ $# -eq 2 ]] || die "usage: build.sh systemd|minimal DEST"
KOLA_FLAVOR=$1
dest=$2
case $KOLA_FLAVOR in
  systemd | minimal) ;;
  *) die "unknown flavor \"$KOLA_FLAVOR\" (systemd or minimal)" ;;
esac
KOLA_IMAGE_HASH=${KOLA_IMAGE_HASH:-unhashed}
export KOLA_IMAGE_HASH KOLA_FLAVOR
dest=$(realpath -m -- "$dest")
tmp=$(realpath -m -- "${KOLA_IMAGE_TMPDIR:-$dest.tmp-$$}")
mkdir -p -- "$(dirname -- "$dest")"
mkdir -- "$tmp" || die "cannot create $tmp (left over from another build?)"

done_ok=0
on_exit() {
  local rc=$?
  if ((!done_ok)); then
    safe_rm_tree "$tmp" || true
    ((rc)) || rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

progress "building the $KOLA_FLAVOR image $KOLA_IMAGE_HASH in $tmp"
# shellcheck source=/dev/null
. "$KOLA_IMAGE_DIR/$KOLA_FLAVOR/build.sh"
build_flavor "$tmp"
write_manifest "$tmp"

# into place: an older entry (rebuild) is moved aside first, then removed
if [[ -e $dest ]]; then
  old="$dest.old-$$"
  mv -T -- "$dest" "$old"
  mv -T -- "$tmp" "$dest"
  rm -rf -- "$old"
else
  mv -T -- "$tmp" "$dest"
fi
done_ok=1
progress "done: $dest ($(du -sh -- "$dest" | cut -f1) on disk)"
