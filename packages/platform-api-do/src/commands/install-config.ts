import { UsageError, validateIgnition } from '@mantle/cluster';

/**
 * The userdata of `ore do create-image --method snapshot`'s helper droplet: mantle's workaround for
 * images DigitalOcean's custom image API cannot take, as an Ignition v3 config. Same steps as
 * mantle's Container Linux Config:
 *
 * 1. once the system is up, `kola-install.service` fills `/run/initramfs` with a busybox (the
 *    image's own, or one Ignition fetched from --busybox-url and checked against its sha256), its
 *    libraries, the shutdown script, the image URL and a resolv.conf, and starts a power-off;
 * 2. systemd-shutdown finds `/run/initramfs/shutdown`, pivots into it and runs it: the script finds
 *    the disk `/oldroot` was mounted from, unmounts everything under `/oldroot` deepest first,
 *    puts back the network prep recorded (a network manager may drop it as it stops), discards
 *    the disk, streams the image (bzip2, gzip or xz by the URL's path, else raw) over it and
 *    powers off. On any failure it reboots instead, so the droplet never reaches `off` with a
 *    half-written disk and ore's wait for `off` fails rather than snapshotting it.
 *
 * `dracut-shutdown.service` is masked: it would unpack the initramfs over `/run/initramfs` at
 * shutdown and replace the script. The URL is a file, not part of a command line (mantle's
 * unescaped `%` in the URL was a bug).
 */

export interface InstallConfigOptions {
  /** Where the guest fetches the image (http or https). */
  url: string;
  /** A static busybox for images without one, fetched by Ignition and checked. */
  busybox?: { url: string; sha256: string };
}

export const installUnit = 'kola-install.service';

const shutdownScript = `#!/bin/sh
# ore do create-image --method snapshot: run by systemd-shutdown after it pivoted into
# /run/initramfs; the system's root is /oldroot now.
export PATH=/bin
fail() {
  echo "kola-install: $*; rebooting instead of powering off" >/dev/console
  sync
  reboot -f
  exit 1
}
echo "kola-install: writing the image over the root disk" >/dev/console
# by device number: a root the kernel mounted itself (root= without an initramfs) shows as /dev/root,
# which names no device node
majmin=$(awk '$5 == "/oldroot" { print $3 }' /proc/self/mountinfo)
[ -e "/sys/dev/block/$majmin" ] || fail "no block device is mounted on /oldroot (device $majmin)"
dev=$(basename "$(readlink -f "/sys/dev/block/$majmin")")
if [ -e "/sys/class/block/$dev/partition" ]; then
  disk=$(basename "$(readlink -f "/sys/class/block/$dev/..")")
else
  disk=$dev
fi
for m in $(awk '$2 == "/oldroot" || $2 ~ "^/oldroot/" { print $2 }' /proc/mounts | sort -r); do
  umount "$m" || fail "cannot unmount $m"
done
grep -q ' /oldroot' /proc/mounts && fail "/oldroot is still mounted"
url=$(cat /etc/kola-install-url)
case "\${url%%\\?*}" in
  *.bz2) unpack="bunzip2 -c" ;;
  *.gz) unpack="gunzip -c" ;;
  *.xz) unpack="unxz -c" ;;
  *) unpack="cat" ;;
esac
# the system's network manager may have taken its addresses down as it stopped (networkd drops
# a DHCP lease): the interface of the default route, its IPv4 addresses and the route, as they were
if [ -s /etc/kola-install-net ]; then
  {
    read -r ifname
    read -r gateway
    while read -r address; do
      ip addr add "$address" dev "$ifname" 2>/dev/null
    done
  } </etc/kola-install-net
  ip link set "$ifname" up
  [ -z "$gateway" ] || ip route add default via "$gateway" dev "$ifname" 2>/dev/null
fi
blkdiscard "/dev/$disk" 2>/dev/null
set -o pipefail
wget -q -O - "$url" 2>/dev/console | $unpack | dd of="/dev/$disk" bs=1M conv=fsync 2>/dev/console ||
  fail "writing the image to /dev/$disk failed"
sync
echo "kola-install: done; powering off" >/dev/console
poweroff -f
`;

const prepScript = `#!/bin/sh
# ore do create-image --method snapshot: arms the image write for shutdown, then powers off.
set -eu
R=/run/initramfs
bb=/etc/kola-install/busybox
if [ ! -x "$bb" ]; then
  bb=$(command -v busybox) || {
    echo "kola-install: this image has no busybox; give ore do create-image --busybox-url" >&2
    exit 1
  }
fi
mkdir -p $R/bin $R/etc $R/oldroot $R/proc $R/sys $R/dev $R/run $R/tmp
cp "$bb" $R/bin/busybox
# a busybox linked against shared libraries takes them along
if command -v ldd >/dev/null 2>&1; then
  for lib in $(ldd "$bb" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\\//) print $i }'); do
    mkdir -p "$R$(dirname "$lib")"
    cp "$lib" "$R$lib"
  done
fi
for tool in sh awk basename blkdiscard bunzip2 cat dd echo grep gunzip ip mount poweroff readlink reboot sort sync umount unxz wget; do
  ln -sf busybox "$R/bin/$tool"
done
cp /etc/kola-install/shutdown $R/shutdown
chmod 0755 $R/shutdown
cp /etc/kola-install/url $R/etc/kola-install-url
# the network the image is fetched over, for the shutdown script to put back (busybox's ip here
# and there: one output format)
route=$("$bb" ip -4 route show default)
ifname=$(echo "$route" | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
if [ -n "$ifname" ]; then
  {
    echo "$ifname"
    echo "$route" | awk '{ for (i = 1; i < NF; i++) if ($i == "via") { print $(i + 1); exit } }'
    "$bb" ip -4 -o addr show dev "$ifname" | awk '{ print $4 }'
  } >$R/etc/kola-install-net
fi
# resolved's stub (127.0.0.53) is gone at shutdown: its upstream servers first
for f in /run/systemd/resolve/resolv.conf /etc/resolv.conf; do
  if [ -s "$f" ]; then
    cp "$f" $R/etc/resolv.conf
    break
  fi
done
systemctl --no-block poweroff
`;

const unit = `[Unit]
Description=ore do create-image: write the image over this disk at shutdown
Wants=network-online.target
After=network-online.target multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh /etc/kola-install/prep

[Install]
WantedBy=multi-user.target
`;

const dataUrl = (text: string) => `data:;base64,${Buffer.from(text).toString('base64')}`;

/** The helper droplet's Ignition config (spec 3.1.0: sha256 verification), validated. */
export function installConfig(o: InstallConfigOptions): Record<string, unknown> {
  if (!/^https?:\/\//.test(o.url)) throw new UsageError(`the image URL must be http or https: ${o.url}`);
  if (o.busybox && !/^[0-9a-f]{64}$/i.test(o.busybox.sha256))
    throw new UsageError('--busybox-sha256: must be 64 hex digits');
  const file = (path: string, text: string, mode: number) => ({
    path,
    mode,
    overwrite: true,
    contents: { source: dataUrl(text) },
  });
  const config = {
    ignition: { version: '3.1.0' },
    storage: {
      files: [
        file('/etc/kola-install/shutdown', shutdownScript, 0o755),
        file('/etc/kola-install/prep', prepScript, 0o755),
        file('/etc/kola-install/url', `${o.url}\n`, 0o600),
        ...(o.busybox
          ? [
              {
                path: '/etc/kola-install/busybox',
                mode: 0o755,
                overwrite: true,
                contents: { source: o.busybox.url, verification: { hash: `sha256-${o.busybox.sha256}` } },
              },
            ]
          : []),
      ],
    },
    systemd: {
      units: [
        { name: installUnit, enabled: true, contents: unit },
        { name: 'dracut-shutdown.service', mask: true },
      ],
    },
  };
  validateIgnition(config);
  return config;
}

/** The URL an install config was made for (what the guest will fetch); undefined if it is none. */
export function installUrlOf(config: unknown): string | undefined {
  const files = (config as { storage?: { files?: Array<{ path?: string; contents?: { source?: string } }> } })
    .storage?.files;
  const source = files?.find((f) => f.path === '/etc/kola-install/url')?.contents?.source;
  const m = source ? /^data:;base64,(.*)$/.exec(source) : null;
  return m ? Buffer.from(m[1]!, 'base64').toString().trim() : undefined;
}
