import { UserData } from '@mantle/cluster';
import { defineTest, type TestDefinition } from '@mantle/harness';
import { base64Url, dataUrl, eventually, minimalImageReason, requireSystemd } from '../helpers.js';

/** A key nobody holds the private half of: only its presence in authorized_keys is checked. */
const extraKey =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII1NqSvQ4XUWCTbGe+qfbEngnmCp/NvfUL8suc89/FWx kola-extra-key';

const ign = (config: Record<string, unknown>) =>
  UserData.ignition({ ignition: { version: '3.3.0' }, ...config });

/** Every key file Ignition or an agent may have written for core. */
const authorizedKeys = 'cat ~/.ssh/authorized_keys ~/.ssh/authorized_keys.d/* 2>/dev/null; true';

export const userDataTests: TestDefinition[] = [
  defineTest({
    name: 'userdata.ignition.ssh-keys',
    description: 'keys from the Ignition config are authorized for core, next to the harness key',
    tags: ['userdata', 'ignition'],
    userData: ign({ passwd: { users: [{ name: 'core', sshAuthorizedKeys: [extraKey] }] } }),
    async run(t) {
      const keys = await t.ssh(t.machines[0]!, authorizedKeys);
      if (!keys.includes(extraKey)) t.fail(`the config's key is not authorized:\n${keys}`);
    },
  }),
  defineTest({
    name: 'userdata.ignition.files',
    description: 'files from data: URLs, plain and base64, with their modes; appends; directories; links',
    tags: ['userdata', 'ignition'],
    userData: ign({
      storage: {
        directories: [{ path: '/etc/kola/dir', mode: 0o750 }],
        files: [
          {
            path: '/etc/kola/plain.txt',
            mode: 0o644,
            contents: { source: dataUrl('hello world\nback\\slash % 100%\nunicode é\n') },
          },
          {
            path: '/etc/kola/secret.txt',
            mode: 0o600,
            contents: { source: base64Url('only root reads this\n') },
          },
          { path: '/etc/kola/run.sh', mode: 0o755, contents: { source: dataUrl('#!/bin/sh\necho ran\n') } },
          {
            path: '/etc/kola/appended.txt',
            mode: 0o644,
            contents: { source: dataUrl('line1\n') },
            append: [{ source: dataUrl('line2\n') }],
          },
        ],
        links: [{ path: '/etc/kola/link', target: '/etc/kola/plain.txt' }],
      },
    }),
    async run(t) {
      const m = t.machines[0]!;
      const expect = async (command: string, want: string) => {
        const got = await t.ssh(m, command);
        if (got !== want) t.fail(`${command}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      };
      await expect('cat /etc/kola/plain.txt', 'hello world\nback\\slash % 100%\nunicode é');
      await expect('stat -c %a /etc/kola/plain.txt', '644');
      await expect('stat -c %a /etc/kola/secret.txt', '600');
      await expect('stat -c %a /etc/kola/run.sh', '755');
      await expect('/etc/kola/run.sh', 'ran');
      await expect('cat /etc/kola/appended.txt', 'line1\nline2');
      await expect('stat -c %a /etc/kola/dir', '750');
      await expect('readlink /etc/kola/link', '/etc/kola/plain.txt');
      const root = await m.ssh('cat /etc/kola/secret.txt', { check: false, signal: t.signal });
      if (root.exitCode === 0 && (await t.ssh(m, 'id -u')) !== '0')
        t.fail('a 0600 root file was readable by core');
    },
  }),
  defineTest({
    name: 'userdata.ignition.units',
    description: 'units from the config: enabled and run on first boot, drop-ins applied, masks',
    tags: ['userdata', 'ignition'],
    skip: (env) => minimalImageReason(env, 'systemd'),
    userData: ign({
      systemd: {
        units: [
          {
            name: 'kola-hello.service',
            enabled: true,
            contents:
              '[Unit]\nDescription=kola hello\n[Service]\nType=oneshot\nExecStart=/bin/sh -c "echo hello-from-unit > /run/kola-hello"\nRemainAfterExit=yes\n[Install]\nWantedBy=multi-user.target\n',
          },
          { name: 'kola-masked.service', mask: true },
          {
            name: 'systemd-journald.service',
            dropins: [{ name: '50-kola.conf', contents: '[Service]\nEnvironment=KOLA_DROPIN=1\n' }],
          },
        ],
      },
    }),
    async run(t) {
      const m = t.machines[0]!;
      await requireSystemd(t, m);
      const enabled = await t.ssh(m, 'systemctl is-enabled kola-hello.service');
      if (enabled !== 'enabled') t.fail(`kola-hello.service is ${enabled}`);
      const ran = await eventually(
        t,
        m,
        'cat /run/kola-hello',
        'kola-hello.service never wrote /run/kola-hello',
      );
      if (ran !== 'hello-from-unit') t.fail(`/run/kola-hello holds ${JSON.stringify(ran)}`);
      const masked = await m.ssh('systemctl is-enabled kola-masked.service', {
        check: false,
        signal: t.signal,
      });
      if (masked.stdout.trim() !== 'masked')
        t.fail(`kola-masked.service is ${masked.stdout.trim() || masked.stderr.trim()}`);
      const env = await t.ssh(m, 'systemctl show -p Environment systemd-journald.service');
      if (!env.includes('KOLA_DROPIN=1')) t.fail(`drop-in not applied: ${env}`);
    },
  }),
  defineTest({
    name: 'userdata.ignition.hostname',
    description: 'the hostname written to /etc/hostname by the config is the machine’s hostname',
    tags: ['userdata', 'ignition'],
    userData: ign({
      storage: {
        files: [
          {
            path: '/etc/hostname',
            mode: 0o644,
            overwrite: true,
            contents: { source: dataUrl('kola-ign-host\n') },
          },
        ],
      },
    }),
    async run(t) {
      const name = await t.ssh(t.machines[0]!, 'hostname');
      if (name !== 'kola-ign-host') t.fail(`hostname is ${JSON.stringify(name)}`);
    },
  }),
  defineTest({
    name: 'userdata.cloud-config',
    description: 'cloud-config: ssh_authorized_keys, hostname, write_files and runcmd',
    tags: ['userdata', 'cloud-config'],
    userData: UserData.cloudConfig(
      [
        '#cloud-config',
        'hostname: kola-cc-host',
        'ssh_authorized_keys:',
        `  - ${extraKey}`,
        'write_files:',
        '  - path: /etc/kola/cc.txt',
        '    content: |',
        '      written by cloud-config',
        '  - path: /etc/kola/cc-private.txt',
        '    permissions: "0640"',
        '    content: |',
        '      private',
        '  - path: /etc/kola/cc-b64.txt',
        '    encoding: b64',
        `    content: ${Buffer.from('decoded from base64\n').toString('base64')}`,
        'runcmd:',
        '  - echo runcmd-ran > /var/tmp/kola-runcmd',
        '',
      ].join('\n'),
    ),
    async run(t) {
      const m = t.machines[0]!;
      const keys = await t.ssh(m, authorizedKeys);
      if (!keys.includes(extraKey)) t.fail('ssh_authorized_keys were not authorized');
      const host = await t.ssh(m, 'hostname');
      if (host !== 'kola-cc-host') t.fail(`hostname is ${JSON.stringify(host)}`);
      const text = await t.ssh(m, 'cat /etc/kola/cc.txt');
      if (text !== 'written by cloud-config') t.fail(`write_files: ${JSON.stringify(text)}`);
      // 0640 root: the core user cannot read it (images without sudo), but stat can see its mode
      const mode = await t.ssh(m, 'stat -c "%a %U" /etc/kola/cc-private.txt');
      if (mode !== '640 root') t.fail(`write_files permissions: ${JSON.stringify(mode)}, not "640 root"`);
      const b64 = await t.ssh(m, 'cat /etc/kola/cc-b64.txt');
      if (b64 !== 'decoded from base64') t.fail(`write_files b64: ${JSON.stringify(b64)}`);
      const ran = await eventually(t, m, 'cat /var/tmp/kola-runcmd', 'runcmd never ran');
      if (ran !== 'runcmd-ran') t.fail(`runcmd wrote ${JSON.stringify(ran)}`);
    },
  }),
  defineTest({
    name: 'userdata.script',
    description: 'a #! script runs once after boot; @SSH_KEYS@ becomes the keys',
    tags: ['userdata', 'script'],
    userData: UserData.script(
      [
        '#!/bin/sh',
        'set -e',
        'mkdir -p /home/core/.ssh',
        "cat >> /home/core/.ssh/authorized_keys <<'EOF'",
        '@SSH_KEYS@',
        'EOF',
        'chown -R core: /home/core/.ssh 2>/dev/null || chown -R core /home/core/.ssh',
        'chmod 700 /home/core/.ssh; chmod 600 /home/core/.ssh/authorized_keys',
        'echo script-ran > /var/tmp/kola-script',
        '',
      ].join('\n'),
    ),
    async run(t) {
      const m = t.machines[0]!;
      const ran = await eventually(t, m, 'cat /var/tmp/kola-script', 'the script never ran');
      if (ran !== 'script-ran') t.fail(`the script wrote ${JSON.stringify(ran)}`);
    },
  }),
];
