#!/usr/bin/env bash
# Installs what kola's qemu platform needs on a fresh Debian 12: QEMU, and the tools that build the
# test image from Debian packages (packages/platform-api-qemu/image/). Idempotent, and fast when
# everything is there. As root it installs with apt; otherwise it prints the apt line and exits 1.
set -euo pipefail

log() { printf 'setup-qemu: %s\n' "$*" >&2; }

#   qemu-system-x86, qemu-utils   qemu-system-x86_64 and qemu-img (per-VM qcow2 overlays)
#   mmdebstrap                    the systemd image's Debian root (root mode; rootless also needs uidmap)
#   e2fsprogs                     mke2fs -d and debugfs: the ext4 disk without mount or loop devices
#   openssh-client                ssh, for the `ssh -i …` lines kola prints (and the spawn test uses)
# (the minimal image needs only apt and dpkg, which every Debian has)
packages=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client)

missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null) == 'install ok installed' ]] || missing+=("$p")
done
# both image builds resolve the cloud kernel through the host's apt lists
has_candidate() { # (no `apt-cache | grep -q`: grep's early exit would fail the pipe under pipefail)
  local out
  out=$(apt-cache policy "$@" 2>/dev/null) || return 1
  [[ $out == *"Candidate: "[0-9]* ]]
}
lists_ok() { has_candidate linux-image-cloud-amd64; }

install_line="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]:-}"
if ((${#missing[@]} == 0)) && lists_ok; then
  log "everything is installed (${packages[*]})"
  exit 0
fi

if ((EUID != 0)); then
  if ((${#missing[@]})); then
    log "missing: ${missing[*]}. As root run:"
    printf '  apt-get update && %s\n' "$install_line" >&2
  else
    log "apt does not know linux-image-cloud-amd64 (package lists missing or stale). As root run:"
    printf '  apt-get update\n' >&2
  fi
  exit 1
fi

if ! lists_ok || { ((${#missing[@]})) && ! has_candidate "${missing[@]}"; }; then
  log "apt-get update"
  apt-get update -q >&2
fi
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
log "done"
