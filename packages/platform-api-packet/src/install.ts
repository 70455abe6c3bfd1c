import { UserData } from '@mantle/cluster';

/**
 * mantle's iPXE install (§5.6): the device boots the PXE installer, whose Ignition config (this
 * "wrapped" config) downloads the image, installs it with the real userdata as `/userdata`, and
 * reboots into it. `discard.socket` on port 9 is how kola knows the install has finished: the
 * connection gets EOF when the installer reboots.
 */
export function wrapUserData(userData: string, imageUrl: string): string {
  const cloudConfig = UserData.detect(userData).kind === 'cloud-config';
  const data = (text: string) => `data:,${encodeURIComponent(text)}`;
  // for cloud-config the installed system gets an empty Ignition config and the cloud-config
  const installArgs = cloudConfig ? '-i /noop.ign -c /userdata' : '-i /userdata';
  const install = [
    '[Unit]',
    'After=network-online.target',
    'Wants=network-online.target',
    '[Service]',
    'Type=oneshot',
    `ExecStart=/usr/bin/curl --fail --retry 5 -o /var/tmp/image.bin.bz2 ${imageUrl}`,
    `ExecStart=/usr/bin/flatcar-install -d /dev/sda -f /var/tmp/image.bin.bz2 ${installArgs}`,
    'ExecStart=/usr/bin/systemctl --no-block isolate reboot.target',
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    '[Install]',
    'RequiredBy=multi-user.target',
  ].join('\n');
  return JSON.stringify({
    ignition: { version: '2.0.0' },
    storage: {
      files: [
        { filesystem: 'root', path: '/userdata', contents: { source: data(userData) }, mode: 0o644 },
        {
          filesystem: 'root',
          path: '/noop.ign',
          contents: { source: data('{"ignition":{"version":"2.1.0"}}') },
          mode: 0o644,
        },
        // coreos-install validates cloud-config with coreos-cloudinit, which the PXE image lacks
        {
          filesystem: 'root',
          path: '/root/bin/coreos-cloudinit',
          contents: { source: data('#!/bin/sh\nexit 0\n') },
          mode: 0o755,
        },
      ],
    },
    systemd: {
      units: [
        { name: 'sshd.socket', mask: true },
        { name: 'sshd.service', mask: true },
        {
          name: 'discard.socket',
          enable: true,
          contents: '[Socket]\nListenStream=0.0.0.0:9\nAccept=yes\n[Install]\nWantedBy=sockets.target\n',
        },
        { name: 'discard@.service', contents: '[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\n' },
        { name: 'installer.service', enable: true, contents: install },
      ],
    },
  });
}

/** The iPXE script: the installer kernel with the wrapped config's (plain http) URL. */
export function ipxeScript(o: { installerBaseUrl: string; configUrl: string; console: string }): string {
  return [
    '#!ipxe',
    `set base-url ${o.installerBaseUrl}`,
    `kernel \${base-url}/flatcar_production_pxe.vmlinuz initrd=flatcar_production_pxe_image.cpio.gz coreos.first_boot=1 coreos.config.url=${o.configUrl} console=${o.console}`,
    `initrd \${base-url}/flatcar_production_pxe_image.cpio.gz`,
    'boot',
    '',
  ].join('\n');
}
