import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, validateIgnition } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import { helperDropletName } from './create-image-run.js';
import { installConfig, installUnit, installUrlOf } from './install-config.js';

type Config = {
  ignition: { version: string };
  storage: {
    files: Array<{
      path: string;
      mode: number;
      contents: { source: string; verification?: { hash: string } };
    }>;
  };
  systemd: { units: Array<{ name: string; enabled?: boolean; mask?: boolean; contents?: string }> };
};
const fileText = (c: Config, path: string) => {
  const source = c.storage.files.find((f) => f.path === path)!.contents.source;
  return Buffer.from(source.replace(/^data:;base64,/, ''), 'base64').toString();
};

describe('the snapshot helper’s Ignition config', () => {
  const url = 'https://sfo3.digitaloceanspaces.com/b/mantle-staging/x/img.bin.bz2?X-Amz-Signature=ab%2Fcd';

  it('is a valid Ignition 3.1 config carrying mantle’s steps', () => {
    const c = installConfig({ url }) as Config;
    expect(() => validateIgnition(c)).not.toThrow();
    expect(c.ignition.version).toBe('3.1.0');
    expect(installUrlOf(c)).toBe(url);
    expect(c.systemd.units).toEqual([
      expect.objectContaining({ name: installUnit, enabled: true }),
      { name: 'dracut-shutdown.service', mask: true },
    ]);
    const shutdown = fileText(c, '/etc/kola-install/shutdown');
    expect(shutdown).toContain('awk \'$5 == "/oldroot" { print $3 }\' /proc/self/mountinfo');
    expect(shutdown).toContain('| $unpack | dd of="/dev/$disk"');
    expect(shutdown).toContain('poweroff -f');
    expect(fileText(c, '/etc/kola-install/prep')).toContain('systemctl --no-block poweroff');
  });

  it('has scripts a POSIX shell parses', () => {
    const c = installConfig({ url }) as Config;
    const dir = mkdtempSync(join(tmpdir(), 'do-install-'));
    for (const name of ['shutdown', 'prep']) {
      const path = join(dir, name);
      writeFileSync(path, fileText(c, `/etc/kola-install/${name}`));
      expect(() => execFileSync('sh', ['-n', path])).not.toThrow();
    }
  });

  it('picks the unpacker by the URL’s path, not its query', () => {
    const shutdown = fileText(installConfig({ url }) as Config, '/etc/kola-install/shutdown');
    // the script's own lines from reading the URL to choosing the unpacker, run by sh
    const lines = shutdown.split('\n');
    const from = lines.findIndex((l) => l.startsWith('url=$(cat'));
    const to = lines.indexOf('esac');
    const choose = (u: string) =>
      execFileSync(
        'sh',
        ['-c', [`url='${u}'`, ...lines.slice(from + 1, to + 1), 'echo "$unpack"'].join('\n')],
        {
          encoding: 'utf8',
        },
      ).trim();
    expect(choose(url)).toBe('bunzip2 -c');
    expect(choose('https://h/a.img.gz?sig=x.bz2')).toBe('gunzip -c');
    expect(choose('http://h/disk.raw.xz')).toBe('unxz -c');
    expect(choose('http://h/disk.qcow2?x=.gz')).toBe('cat');
  });

  it('fetches a busybox through Ignition, checked by sha256', () => {
    const sha256 = 'a'.repeat(64);
    const c = installConfig({ url, busybox: { url: 'https://example.test/busybox', sha256 } }) as Config;
    const bb = c.storage.files.find((f) => f.path === '/etc/kola-install/busybox')!;
    expect(bb.contents).toEqual({
      source: 'https://example.test/busybox',
      verification: { hash: `sha256-${sha256}` },
    });
    expect(() => installConfig({ url, busybox: { url: 'https://x/b', sha256: 'zz' } })).toThrow(UsageError);
    expect(() => installConfig({ url: 'ftp://x/y' })).toThrow(/http or https/);
  });

  it('names the helper droplet <name>-install in droplet-name characters', () => {
    expect(helperDropletName('flatcar-4081.2.0')).toBe('flatcar-4081.2.0-install');
    expect(helperDropletName('fc 4081+git_1')).toBe('fc-4081-git-1-install');
  });
});
