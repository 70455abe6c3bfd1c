# shellcheck shell=bash
# Helpers shared by the flavor builds. Sourced by build.sh; not executable on its own.

# progress line on stderr: "[  12s] message" (ensureImage forwards these as `image: …`)
progress() { printf '[%4ds] %s\n' "$((SECONDS - KOLA_T0))" "$*" >&2; }
printf -v KOLA_EPOCH0 '%(%s)T' -1
export KOLA_EPOCH0
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
# Kernel arguments both flavors boot with. cryptomgr.notests: the kernel runs a self-test of every
# crypto algorithm it registers, which tests the kernel, not anything these images are for, and took
# ~0.5 s of each boot under TCG (A/B, 5 minimal boots each: /init at 2.79 s with it, 3.29 s without).
KOLA_KERNEL_ARGS='cryptomgr.notests'
# exit 3: a host tool is missing (ensureImage turns this into a ConfigError naming the apt command)
need_tools() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  if ((${#missing[@]})); then
    printf 'missing host tools: %s\n' "${missing[*]}" >&2
    printf 'install them with: apt-get install -y --no-install-recommends %s\n' "$(apt_packages_for "${missing[@]}")" >&2
    exit 3
  fi
}
apt_packages_for() {
  local t out=()
  for t in "$@"; do
    case $t in
      mmdebstrap) out+=(mmdebstrap) ;;
      mke2fs) out+=(e2fsprogs) ;;
      newuidmap | newgidmap) out+=(uidmap) ;;
      dpkg-deb) out+=(dpkg) ;;
      apt-get | apt-cache) out+=(apt) ;;
      gzip) out+=(gzip) ;;
      unshare | mount) out+=(util-linux) ;;
      *) out+=("$t") ;;
    esac
  done
  printf '%s\n' "${out[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# The Debian bookworm sources this machine's apt is configured with (same mirror, same suites), as
# one-line "deb URI SUITE main" entries; deb.debian.org when apt has none. KOLA_DEBIAN_MIRROR overrides
# (it then serves bookworm and bookworm-updates; security comes from KOLA_DEBIAN_SECURITY_MIRROR).
debian_sources() {
  if [[ -n ${KOLA_DEBIAN_MIRROR:-} ]]; then
    printf 'deb %s %s main\n' "$KOLA_DEBIAN_MIRROR" bookworm "$KOLA_DEBIAN_MIRROR" bookworm-updates \
      "${KOLA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}" bookworm-security
    return
  fi
  local lines
  lines=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(ARCHITECTURE)' \
    'Identifier: Packages' 2>/dev/null |
    awk '$2 ~ /^bookworm(-updates|-security)?$/ && $3 == "main" && $4 == "amd64" { sub(/\/$/, "", $1); print "deb " $1 " " $2 " main" }' |
    sort -u)
  if [[ -z $lines ]]; then
    lines='deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main'
  fi
  printf '%s\n' "$lines"
}

# Refuses to delete a tree that still has something mounted under it (a killed root-mode mmdebstrap
# can leave /proc, /sys or /dev mounted in its chroot): unmount first, or leave it and say so.
safe_rm_tree() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  dir=$(realpath -- "$dir")
  if [[ -r /proc/self/mountinfo ]]; then
    for m in $(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
      umount -l -- "$m" 2>/dev/null || true
    done
    if awk -v d="$dir/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
      printf 'warning: not removing %s: something is still mounted under it\n' "$dir" >&2
      return 1
    fi
  fi
  rm -rf --one-file-system -- "$dir"
}

# JSON string (values here are plain: package names, versions, paths, the command line)
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# pvh_kernel OUT: OUT/vmlinux, the ELF inside OUT/vmlinuz, when QEMU can boot it at its PVH entry
# (no firmware setup, no decompression: ~0.9 s less per boot under TCG); sets M_KERNEL to the file
# to boot. Needs node, which runs kola ($KOLA_NODE); without it, or for another kernel, vmlinuz.
pvh_kernel() {
  local out=$1 why
  M_KERNEL=vmlinuz
  if why=$("${KOLA_NODE:-node}" "$KOLA_IMAGE_DIR/pvh-kernel.mjs" "$out/vmlinuz" "$out/vmlinux" 2>&1); then
    M_KERNEL=vmlinux
    progress "kernel: vmlinux, booted at its PVH entry"
  else
    progress "kernel: vmlinuz (${why:-no reason given})"
  fi
}

# write_manifest OUT key=value... ; packages come from OUT/packages.txt (name=version lines)
write_manifest() {
  local out=$1
  pvh_kernel "$out"
  local pkgs first=1 p
  pkgs='['
  while IFS= read -r p; do
    [[ -n $p ]] || continue
    ((first)) || pkgs+=', '
    pkgs+=$(json_str "$p")
    first=0
  done <"$out/packages.txt"
  pkgs+=']'
  local size
  size=$(du -s -B1 --apparent-size -- "$out" | cut -f1)
  local allocated
  allocated=$(du -s -B1 -- "$out" | cut -f1)
  {
    printf '{\n'
    printf '  "flavor": %s,\n' "$(json_str "$KOLA_FLAVOR")"
    printf '  "hash": %s,\n' "$(json_str "$KOLA_IMAGE_HASH")"
    printf '  "kernel": %s,\n' "$(json_str "$M_KERNEL")"
    [[ -n ${M_INITRD:-} ]] && printf '  "initrd": %s,\n' "$(json_str "$M_INITRD")"
    [[ -n ${M_DISK:-} ]] && printf '  "disk": %s,\n' "$(json_str "$M_DISK")"
    printf '  "diskFormat": "raw",\n'
    printf '  "append": %s,\n' "$(json_str "$M_APPEND")"
    printf '  "kernelVersion": %s,\n' "$(json_str "$M_KVER")"
    printf '  "kernelPackage": %s,\n' "$(json_str "$M_KPKG")"
    printf '  "debianSuite": "bookworm",\n'
    printf '  "packages": %s,\n' "$pkgs"
    printf '  "ignitionVersion": %s,\n' "$(json_str "$M_IGNITION")"
    printf '  "fwCfg": { "ignition": "opt/com.coreos/config", "userData": "opt/org.mantle-ts/user-data", "cloudConfigJson": "opt/org.mantle-ts/cloud-config.json", "privateNetwork": "opt/org.mantle-ts/private-network", "userNetwork": "opt/org.mantle-ts/user-network" },\n'
    printf '  "builtAt": %s,\n' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '  "buildSeconds": %d,\n' "$((SECONDS - KOLA_T0))"
    printf '  "sizeBytes": %d,\n' "$allocated"
    printf '  "apparentSizeBytes": %d\n' "$size"
    printf '}\n'
  } >"$out/manifest.json.tmp"
  mv -f -- "$out/manifest.json.tmp" "$out/manifest.json"
}
