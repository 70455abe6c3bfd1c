# shellcheck shell=bash
# The `systemd` flavor: a minbase Debian bookworm with systemd and OpenSSH in a raw ext4 file, booted
# with -kernel (Debian's cloud kernel) and root on an emulated NVMe disk, no initrd. Sourced by build.sh.

SYSTEMD_PACKAGES=systemd,systemd-sysv,udev,dbus,openssh-server,sudo,jq,kmod,iproute2,iputils-ping,procps,less,ca-certificates,libnss-myhostname,ignition

# mmdebstrap/apt/dpkg chatter not worth a progress line (everything else, errors included, goes on)
MMDEBSTRAP_NOISE='^(I: (running|using|automatically chosen|chroot architecture|finding correct|skipping|cleaning|removing tempdir)|Reading |Building |The following|  |[0-9]+ upgraded|Need to get|After this|Get:|Fetched|Chrooting|debconf: |\(Reading|Preparing to|Unpacking|Setting up|Selecting|removed |rmdir: |dpkg-deb: building|Creating regular file|Processing triggers)'

build_flavor() {
  local out=$1 mode
  need_tools mmdebstrap mke2fs dpkg-deb apt-get unshare mount
  if ((EUID == 0)); then
    mode=root
  else
    mode=unshare
    need_tools newuidmap newgidmap
    local me
    me=$(id -un)
    if ! grep -q "^$me:" /etc/subuid 2>/dev/null || ! grep -q "^$me:" /etc/subgid 2>/dev/null; then
      printf 'building the systemd image without root needs subordinate ids for %s (mmdebstrap --mode=unshare):\n' "$me" >&2
      printf '  as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s\n' "$me" >&2
      printf '  (and apt-get install -y uidmap); or build once as root\n' >&2
      exit 3
    fi
    if ! unshare --user --map-root-user true 2>/dev/null; then
      printf 'building the systemd image without root needs unprivileged user namespaces, which are disabled here\n' >&2
      printf '  (sysctl user.max_user_namespaces / kernel.unprivileged_userns_clone); or build once as root\n' >&2
      exit 3
    fi
  fi

  local sources
  sources=$(debian_sources)
  progress "mmdebstrap --mode=$mode bookworm from: $(awk '{print $2 " " $3}' <<<"$sources" | paste -sd, -)"
  mkdir -p "$out/work" "$out/export"
  # in unshare mode the hook writes here as fake root (a subordinate uid outside)
  [[ $mode == unshare ]] && chmod 0777 "$out/export"

  local -a mirrors=()
  mapfile -t mirrors <<<"$sources"
  local rc
  set +e
  TMPDIR="$out/work" mmdebstrap \
    --mode="$mode" --variant=minbase --include="$SYSTEMD_PACKAGES" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="sync-in $KOLA_IMAGE_DIR/common /" \
    --customize-hook="sync-in $KOLA_IMAGE_DIR/systemd/rootfs /" \
    --customize-hook="\"$KOLA_IMAGE_DIR/systemd/customize.sh\" \"\$1\" \"$out/export\"" \
    bookworm /dev/null "${mirrors[@]}" 2>&1 |
    grep --line-buffered -v -E "$MMDEBSTRAP_NOISE" >&2
  rc=${PIPESTATUS[0]}
  set -e
  ((rc == 0)) || die "mmdebstrap failed (exit $rc)"
  [[ -f $out/export/rootfs.raw && -f $out/export/vmlinuz && -f $out/export/build.env ]] || die "mmdebstrap finished without the image"

  local f
  for f in rootfs.raw vmlinuz packages.txt; do
    if [[ $mode == unshare ]]; then
      # written by fake root, so owned by a subordinate uid out here: copy to own them (sparse, ~1 s)
      cp --sparse=always "$out/export/$f" "$out/$f"
      rm -f "$out/export/$f"
    else
      mv "$out/export/$f" "$out/$f"
    fi
  done
  # shellcheck disable=SC1091
  . "$out/export/build.env"
  rm -rf "$out/export"
  safe_rm_tree "$out/work" || die "could not remove $out/work"

  M_DISK=rootfs.raw
  M_INITRD=
  # net.ifnames=0: kola-init brings eth0 up before udev runs, and udev cannot rename a NIC that is up
  M_APPEND="console=ttyS0 root=/dev/nvme0n1 rw init=/usr/local/sbin/kola-init net.ifnames=0 $KOLA_KERNEL_ARGS"
}
