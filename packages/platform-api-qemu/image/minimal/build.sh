# shellcheck shell=bash
# The `minimal` flavor: Debian's cloud kernel + an initramfs with busybox, dropbear, jq and Debian's
# Ignition. Built without root (apt-get download, dpkg-deb -x, busybox cpio -R 0:0). Sourced by build.sh.

# virtio-net, virtio-rng and fw_cfg are modules in the cloud kernel; insmod order (dependencies first).
MINIMAL_MODULES='failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_net virtio-rng qemu_fw_cfg'
# The ACPI power button as an input device, for acpid (kola's destroy presses it); listed in
# lib/modules/power-modules, which inittab's acpid entry loads beside dropbear's start, not before it.
MINIMAL_POWER_MODULES='evdev button'
MINIMAL_TOP_PACKAGES='busybox-static dropbear-bin jq ignition'

build_flavor() {
  local out=$1
  need_tools apt-get apt-cache dpkg-deb find
  local w=$out/work
  mkdir -p "$w/debs" "$w/x" "$w/root"

  # --- packages: the kernel the metapackage points at, the tools, and everything they depend on ----
  local kpkg
  kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ && !k { k = $2 } END { print k }')
  [[ -n $kpkg ]] || die "apt knows no linux-image-cloud-amd64: run apt-get update (as root) first"
  local -a pkgs
  mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $MINIMAL_TOP_PACKAGES 2>/dev/null | grep -E '^[a-z0-9]' | sort -u)
  progress "apt-get download $kpkg and ${#pkgs[@]} packages (${MINIMAL_TOP_PACKAGES// /, } and their dependencies)"
  local -a aptopts=(-q)
  ((EUID == 0)) && aptopts+=(-o APT::Sandbox::User=root)
  (cd "$w/debs" && apt-get "${aptopts[@]}" download "$kpkg" base-files "${pkgs[@]}" >/dev/null) ||
    die "apt-get download failed (stale package lists? run apt-get update as root)"

  : >"$out/packages.txt"
  local deb
  for deb in "$w"/debs/*.deb; do
    dpkg-deb -f "$deb" Package Version | awk '/^Package:/{p=$2} /^Version:/{v=$2} END{print p "=" v}' >>"$out/packages.txt"
    dpkg-deb -x "$deb" "$w/x"
  done
  LC_ALL=C sort -o "$out/packages.txt" "$out/packages.txt"
  progress "extracted $(ls "$w/debs" | wc -l) packages"

  local kver=${kpkg#linux-image-}
  M_KVER=$kver
  M_KPKG="$kpkg=$(dpkg-deb -f "$w"/debs/"$kpkg"_*.deb Version)"
  M_IGNITION=$(dpkg-deb -f "$w"/debs/ignition_*.deb Version)
  cp "$w/x/boot/vmlinuz-$kver" "$out/vmlinuz"
  chmod 644 "$out/vmlinuz"

  # --- the tree -----------------------------------------------------------------------------------
  local r=$w/root bb=$w/x/bin/busybox
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,home/core/.ssh,var/lib/kola,var/log,var/tmp,lib/modules,lib64,lib/x86_64-linux-gnu}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 700 "$r/root" "$r/home/core/.ssh"
  cp "$bb" "$r/bin/busybox"
  local a
  while read -r a; do
    [[ -e $r/$a || -L $r/$a ]] || ln -s /bin/busybox "$r/$a"
  done < <("$bb" --list-full)
  ln -s /bin/busybox "$r/init"
  mkdir -p "$r/usr/lib/dracut/modules.d/30ignition"
  cp "$w/x/usr/sbin/dropbear" "$r/usr/sbin/dropbear"
  cp "$w/x/usr/bin/jq" "$r/usr/bin/jq"
  cp "$w/x/usr/lib/dracut/modules.d/30ignition/ignition" "$r/usr/lib/dracut/modules.d/30ignition/ignition"

  # shared libraries: what the host's dynamic loader resolves against the extracted packages only
  local ldso=/lib64/ld-linux-x86-64.so.2 libpath lib path
  [[ -x $ldso ]] || die "no $ldso on this host (needed to list the libraries of dropbear, jq and ignition)"
  libpath=$w/x/lib/x86_64-linux-gnu:$w/x/usr/lib/x86_64-linux-gnu
  local -A seen=()
  for bin in "$r/usr/sbin/dropbear" "$r/usr/bin/jq" "$r/usr/lib/dracut/modules.d/30ignition/ignition"; do
    while read -r lib path; do
      [[ -n $path && -z ${seen[$lib]:-} ]] || continue
      seen[$lib]=1
      case $path in
        "$w"/x/*) cp -L "$path" "$r/lib/x86_64-linux-gnu/$lib" ;;
        *) die "$lib of ${bin##*/} resolves outside the downloaded packages ($path)" ;;
      esac
    done < <("$ldso" --library-path "$libpath" --list "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
  done
  cp -L "$w/x/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$r/lib/x86_64-linux-gnu/"
  ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$r/lib64/ld-linux-x86-64.so.2"
  # glibc's getpwnam (Ignition's user lookup) wants nsswitch + libnss_files
  for lib in libnss_files.so.2; do
    [[ -e $w/x/lib/x86_64-linux-gnu/$lib ]] && cp -L "$w/x/lib/x86_64-linux-gnu/$lib" "$r/lib/x86_64-linux-gnu/"
  done

  # kernel modules; rcS loads those of load-order, in that order
  local m f
  : >"$r/lib/modules/load-order"
  echo "$MINIMAL_POWER_MODULES" >"$r/lib/modules/power-modules"
  for m in $MINIMAL_MODULES $MINIMAL_POWER_MODULES; do
    f=$(find "$w/x/lib/modules/$kver" -name "$m.ko*" -print -quit)
    [[ -n $f ]] || die "module $m not found in $kpkg"
    case $f in
      *.ko) cp "$f" "$r/lib/modules/$m.ko" ;;
      *.ko.xz) xz -dc "$f" >"$r/lib/modules/$m.ko" ;;
      *) die "unsupported module file $f" ;;
    esac
    [[ " $MINIMAL_POWER_MODULES " == *" $m "* ]] || echo "$m" >>"$r/lib/modules/load-order"
  done

  # users, identity, configuration
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
core:x:500:500:kola test user:/home/core:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$r/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
core:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
  chmod 600 "$r/etc/shadow"
  cat >"$r/etc/group" <<'EOF'
root:x:0:
adm:x:4:core
tty:x:5:
wheel:x:10:
sudo:x:27:core
systemd-journal:x:101:core
core:x:500:
nogroup:x:65534:
EOF
  printf '/bin/sh\n/bin/ash\n' >"$r/etc/shells"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$r/etc/hosts"
  : >"$r/etc/resolv.conf"
  : >"$r/etc/hostname"
  : >"$r/home/core/.ssh/authorized_keys"
  chmod 600 "$r/home/core/.ssh/authorized_keys"
  mkdir -p "$r/etc/dropbear"
  {
    grep -v -E '^(VARIANT|VARIANT_ID|IMAGE_ID|IMAGE_VERSION)=' "$w/x/usr/lib/os-release"
    printf 'VARIANT="kola test image (minimal: busybox initramfs)"\nVARIANT_ID=kola-test\nIMAGE_ID=kola-test-minimal\nIMAGE_VERSION=%s\n' \
      "$KOLA_IMAGE_HASH"
  } >"$r/etc/os-release"
  cp -a "$KOLA_IMAGE_DIR/common/." "$r/"
  cp -a "$KOLA_IMAGE_DIR/minimal/rootfs/." "$r/"

  # --- the archive: root-owned without root ------------------------------------------------------
  progress "initramfs: $(du -sh "$r" | cut -f1) unpacked"
  # Not compressed: under TCG the kernel took ~0.8 s to gunzip it before /init (A/B, 6 boots each:
  # /init at 3.2 s uncompressed against 4.1 s gzipped), and 17 MB more on the host costs nothing.
  (cd "$r" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc -R 0:0 2>/dev/null >"$out/initramfs.cpio")
  safe_rm_tree "$w" || die "could not remove $w"

  M_INITRD=initramfs.cpio
  M_DISK=
  M_APPEND="console=ttyS0 rdinit=/init $KOLA_KERNEL_ARGS"
}
