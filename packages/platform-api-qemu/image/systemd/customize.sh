#!/bin/bash
# mmdebstrap customize hook of the `systemd` flavor: customize.sh ROOT EXPORT
# Runs as root (mode root) or as fake root in mmdebstrap's user namespace (mode unshare), with ROOT the
# finished chroot (the overlays are already synced in) and EXPORT a directory outside it that receives
# vmlinuz, rootfs.raw, packages.txt and build.env. Does its own clean-up and makes the ext4 image
# itself, because everything mmdebstrap does after its customize hooks is thrown away (target /dev/null).
set -euo pipefail
R=$1
X=$2
say() {
  local now
  printf -v now '%(%s)T' -1
  printf '[%4ds] customize: %s\n' "$((now - ${KOLA_EPOCH0:-now}))" "$*" >&2
}
in_root() { chroot "$R" "$@"; }

# --- kernel: Debian's cloud kernel, vmlinuz beside the image, modules inside it (no initrd) --------
kpkg=$(in_root apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ && !k { k = $2 } END { print k }')
[[ -n $kpkg ]] || {
  echo "cannot resolve linux-image-cloud-amd64 to a kernel package" >&2
  exit 1
}
say "downloading $kpkg"
mkdir -p "$R/tmp/kola-kernel"
in_root sh -c "cd /tmp/kola-kernel && apt-get -q -o APT::Sandbox::User=root download $kpkg" >/dev/null
deb=$(echo "$R"/tmp/kola-kernel/"$kpkg"_*.deb)
[[ -f $deb ]] || {
  echo "kernel package not downloaded" >&2
  exit 1
}
kvers=$(dpkg-deb -f "$deb" Version)
dpkg-deb -x "$deb" "$R/tmp/kola-kernel/x"
kver=${kpkg#linux-image-}
[[ -d $R/tmp/kola-kernel/x/lib/modules/$kver ]] || {
  echo "no modules for $kver in $deb" >&2
  exit 1
}
mkdir -p "$R/usr/lib/modules" "$R/boot"
rm -rf "${R:?}/usr/lib/modules/$kver"
mv "$R/tmp/kola-kernel/x/lib/modules/$kver" "$R/usr/lib/modules/$kver"
cp "$R/tmp/kola-kernel/x/boot/config-$kver" "$R/boot/config-$kver"
cp "$R/tmp/kola-kernel/x/boot/vmlinuz-$kver" "$X/vmlinuz"
chmod 644 "$X/vmlinuz"
rm -rf "${R:?}/tmp/kola-kernel"
say "depmod $kver"
in_root depmod -a "$kver"

# --- the core user ------------------------------------------------------------------------------
in_root groupadd -g 500 core
in_root useradd -K UID_MIN=100 -m -u 500 -g core -G sudo,systemd-journal,adm -s /bin/bash -c 'kola test user' -p '*' core
install -d -m 700 -o 500 -g 500 "$R/home/core/.ssh"
install -m 600 -o 500 -g 500 /dev/null "$R/home/core/.ssh/authorized_keys"
printf 'core ALL=(ALL) NOPASSWD: ALL\n' >"$R/etc/sudoers.d/90-kola-core"
chmod 440 "$R/etc/sudoers.d/90-kola-core"

# --- identity: Debian's os-release plus the variant; no machine-id, host keys or hostname --------
rm -f "$R/etc/os-release"
{
  grep -v -E '^(VARIANT|VARIANT_ID|IMAGE_ID|IMAGE_VERSION)=' "$R/usr/lib/os-release"
  printf 'VARIANT="kola test image"\nVARIANT_ID=kola-test\nIMAGE_ID=kola-test-systemd\nIMAGE_VERSION=%s\n' \
    "${KOLA_IMAGE_HASH:-unknown}"
} >"$R/etc/os-release"
# empty: kola-init runs systemd-machine-id-setup on the first boot. (Not "uninitialized": that makes
# systemd's first boot run preset-all, 7 s under TCG; kola-init applies Ignition's presets itself.)
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R"/etc/ssh/ssh_host_*
rm -f "$R/etc/hostname" # none: Ignition/cloud-config may write one, else DHCP or "localhost"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
rm -f "$R/etc/resolv.conf"
printf 'nameserver 10.0.2.3\n' >"$R/etc/resolv.conf" # QEMU user networking's DNS
printf 'LABEL=root / ext4 rw,noatime 0 0\n' >"$R/etc/fstab"
install -d -m 755 "$R/var/lib/kola"
in_root install -d -m 2755 -g systemd-journal /var/log/journal

# --- units --------------------------------------------------------------------------------------
in_root systemctl enable systemd-networkd.service kola-run-once.service kola-ignition-journal.service >/dev/null 2>&1
for u in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_reap.service \
  modprobe@dm_mod.service modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service \
  modprobe@loop.service modprobe@configfs.service sys-kernel-debug.mount sys-kernel-tracing.mount \
  dev-hugepages.mount kmod-static-nodes.service systemd-sysusers.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done

# Boot-to-SSH under TCG (measured with systemd-analyze critical-chain ssh.service): ssh.service waited
# for network.target although sshd listens on every address anyway, ran `sshd -t` (a whole extra
# sshd start-up) first, and through the default dependencies waited for sysinit.target (journal
# flush, tmpfiles, utmp: 5-10 s here). Our copy starts once the file systems are up, alongside the
# rest, so the critical path is udev -> networkd's DHCP lease. Logins still go through PAM/logind.
sed -e '/^After=network.target/d' -e '/^ExecStartPre=\/usr\/sbin\/sshd -t$/d' \
  -e 's/^\(Description=.*\)$/\1\nDefaultDependencies=no\nAfter=local-fs.target\nBefore=shutdown.target\nConflicts=shutdown.target/' \
  "$R/lib/systemd/system/ssh.service" >"$R/etc/systemd/system/ssh.service"
if grep -q -e '^After=network.target' -e '^ExecStartPre=' "$R/etc/systemd/system/ssh.service" ||
  ! grep -q '^ExecStart=/usr/sbin/sshd -D' "$R/etc/systemd/system/ssh.service" ||
  ! grep -q '^DefaultDependencies=no' "$R/etc/systemd/system/ssh.service"; then
  echo "ssh.service is not the unit this image expects; update customize.sh" >&2
  exit 1
fi
# generators run one by one before systemd starts any unit; these find nothing on this image
install -d "$R/etc/systemd/system-generators"
for g in systemd-cryptsetup-generator systemd-gpt-auto-generator systemd-hibernate-resume-generator \
  systemd-integritysetup-generator systemd-veritysetup-generator systemd-system-update-generator \
  systemd-sysv-generator systemd-rc-local-generator systemd-debug-generator; do
  ln -sf /dev/null "$R/etc/systemd/system-generators/$g"
done
ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service" # no display: the serial getty stays
# no /run/nologin while booting: sshd runs early (above), and kola's first login should not be
# refused until systemd-user-sessions; tests that need a finished boot wait for it themselves
# (basic: systemctl is-system-running --wait)
ln -sf /dev/null "$R/etc/tmpfiles.d/systemd-nologin.conf"

# --- versions for the manifest ------------------------------------------------------------------
{
  in_root dpkg-query -W -f '${Package}=${Version}\n'
  printf '%s=%s\n' "$kpkg" "$kvers"
} | LC_ALL=C sort >"$X/packages.txt"
ign_version=$(in_root dpkg-query -W -f '${Version}' ignition)
printf 'M_KVER=%q\nM_KPKG=%q\nM_IGNITION=%q\n' "$kver" "$kpkg=$kvers" "$ign_version" >"$X/build.env"

# --- clean-up (apt cache and lists, docs, man pages, locales, logs) ------------------------------
in_root apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/debconf/*-old \
  "$R"/var/lib/dpkg/*-old "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* \
  "$R"/usr/share/lintian "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/var/cache/ldconfig/aux-cache
find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
find "$R/var/tmp" -mindepth 1 -delete 2>/dev/null || true
# (not ROOT/tmp: mmdebstrap keeps its APT_CONFIG there, and its clean-up runs apt-get update with it;
# without it apt would act on the host. The image gets an empty /tmp below instead.)

# --- the ext4 image, from a plain bind mount of ROOT (without the /proc, /sys, /dev mmdebstrap
#     mounted into it), in a private mount namespace so nothing outlives this hook ------------------
say "mke2fs (rootfs.raw, 2 GiB sparse)"
mnt=$(mktemp -d "$X/mnt.XXXXXX")
unshare --mount --propagation private -- sh -c '
  set -e
  mount --bind "$1" "$2"
  mount -t tmpfs -o mode=1777 tmpfs "$2/tmp"
  mke2fs -q -F -t ext4 -L root -m 0 -E assume_storage_prezeroed=1 -d "$2" "$3" 2G
' sh "$R" "$mnt" "$X/rootfs.raw"
rmdir "$mnt"
# mmdebstrap's own apt config must stay in the chroot until its clean-up (whose apt-get update would
# otherwise act on the host's apt), but the image must not have it
if [[ -e $R/etc/apt/apt.conf.d/00mmdebstrap ]]; then
  debugfs -w -R 'rm /etc/apt/apt.conf.d/00mmdebstrap' "$X/rootfs.raw" >/dev/null 2>&1
fi
chmod 644 "$X/rootfs.raw"
say "done"
