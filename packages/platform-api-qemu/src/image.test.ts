import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, ConfigError, createLogger, MantleError, memorySink } from '@mantle/cluster';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultImageDir,
  type EnsureImageOptions,
  ensureImage,
  hostToolsFor,
  imageCacheDir,
  imageInputFiles,
  imageInputsHash,
} from './image.js';

const scratch = mkdtempSync(join(tmpdir(), 'kola-image-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (what: string) => {
  const d = join(scratch, `${what}-${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** A copy of the real image/ (inputs), so tests may edit it. */
function imageCopy(): string {
  const d = join(fresh('image'), 'image');
  cpSync(defaultImageDir(), d, { recursive: true });
  return d;
}

// A stand-in for build.sh with its contract: FLAVOR DEST, writes into $KOLA_IMAGE_TMPDIR, renames it
// to DEST when complete; exit 3 = missing host tool. FAKE_MODE picks the behaviour.
const fakeBuild = join(scratch, 'fake-build.sh');
writeFileSync(
  fakeBuild,
  `#!/bin/bash
set -e
flavor=$1 dest=$2 tmp=$KOLA_IMAGE_TMPDIR
echo "fake build of $flavor started" >&2
[ -z "$FAKE_COUNT" ] || echo x >>"$FAKE_COUNT"
mkdir "$tmp"
echo kernel >"$tmp/vmlinuz"
printf '{"flavor":"%s","hash":"%s","kernel":"vmlinuz","diskFormat":"raw","append":"console=ttyS0","kernelVersion":"6.1.0-test","debianSuite":"bookworm","packages":["a=1"],"ignitionVersion":"2.14.0","builtAt":"now","buildSeconds":0,"sizeBytes":6}\\n' "$flavor" "$KOLA_IMAGE_HASH" >"$tmp/manifest.json"
case \${FAKE_MODE:-ok} in
  fail) echo "boom: the mirror is on fire" >&2; exit 1 ;;
  exit3) echo "missing host tools: mmdebstrap" >&2
         echo "install them with: apt-get install -y --no-install-recommends mmdebstrap" >&2; exit 3 ;;
  hang) sleep 60 & echo "$$ $!" >"$FAKE_PIDS"; wait ;;
  slow) sleep 0.5 ;;
  nodest) exit 0 ;;
esac
if [ -e "$dest" ]; then mv -T "$dest" "$dest.old-$$"; mv -T "$tmp" "$dest"; rm -rf "$dest.old-$$"
else mv -T "$tmp" "$dest"; fi
echo "fake build done" >&2
`,
);

function setup(mode: string, extra: Partial<EnsureImageOptions> = {}) {
  const cacheDir = fresh('cache');
  const count = join(cacheDir, '..', `count-${n}`);
  const pids = join(cacheDir, '..', `pids-${n}`);
  const sink = memorySink('debug');
  const options: EnsureImageOptions = {
    cacheDir,
    log: createLogger([sink]),
    signal: new AbortController().signal,
    buildCommand: ['bash', fakeBuild],
    requiredTools: [],
    env: { ...process.env, FAKE_MODE: mode, FAKE_COUNT: count, FAKE_PIDS: pids },
    lockPollMs: 25,
    killGraceMs: 2000,
    ...extra,
  };
  const builds = () =>
    existsSync(count) ? readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0;
  return { cacheDir, options, sink, builds, pids };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('imageCacheDir', () => {
  it('uses XDG_CACHE_HOME, else ~/.cache', () => {
    expect(imageCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/kola/images');
    expect(imageCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/kola/images');
    expect(imageCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.cache/kola/images');
  });
});

describe('imageInputsHash', () => {
  it('is stable, per flavor, and the same for a faithful copy', async () => {
    const copy = imageCopy();
    const s1 = await imageInputsHash('systemd', copy);
    expect(s1).toMatch(/^[0-9a-f]{16}$/);
    expect(await imageInputsHash('systemd', copy)).toBe(s1);
    expect(await imageInputsHash('systemd')).toBe(s1);
    expect(await imageInputsHash('minimal', copy)).not.toBe(s1);
  });

  it('covers the shared files and the flavor folder, not the other flavor or docs', async () => {
    const files = await imageInputFiles('systemd', imageCopy());
    expect(files).toContain('build.sh');
    expect(files).toContain('lib.sh');
    expect(files).toContain('common/usr/local/lib/kola/agent.sh');
    expect(files).toContain('systemd/customize.sh');
    expect(files.some((f) => f.startsWith('minimal/'))).toBe(false);
    expect(files.some((f) => f.endsWith('.md'))).toBe(false);
    expect([...files].sort()).toEqual(files);
  });

  it('changes when an input changes, and only for the flavors that use it', async () => {
    const copy = imageCopy();
    const before = { s: await imageInputsHash('systemd', copy), m: await imageInputsHash('minimal', copy) };
    writeFileSync(join(copy, 'README.md'), 'docs only\n');
    expect(await imageInputsHash('systemd', copy)).toBe(before.s);

    writeFileSync(
      join(copy, 'minimal/build.sh'),
      `${readFileSync(join(copy, 'minimal/build.sh'), 'utf8')}\n# x\n`,
    );
    const afterMinimal = await imageInputsHash('minimal', copy);
    expect(afterMinimal).not.toBe(before.m);
    expect(await imageInputsHash('systemd', copy)).toBe(before.s);

    const agent = join(copy, 'common/usr/local/lib/kola/agent.sh');
    writeFileSync(agent, `${readFileSync(agent, 'utf8')}# y\n`);
    const s2 = await imageInputsHash('systemd', copy);
    expect(s2).not.toBe(before.s);
    expect(await imageInputsHash('minimal', copy)).not.toBe(afterMinimal);

    chmodSync(join(copy, 'systemd/customize.sh'), 0o644); // the executable bit counts too
    expect(await imageInputsHash('systemd', copy)).not.toBe(s2);

    const m2 = await imageInputsHash('minimal', copy);
    writeFileSync(join(copy, 'systemd/rootfs/etc/new-file'), 'x');
    expect(await imageInputsHash('minimal', copy)).toBe(m2);
    expect(await imageInputsHash('systemd', copy)).not.toBe(s2);
  });
});

describe('ensureImage', () => {
  it('builds once, then returns the cached image without building', async () => {
    const { cacheDir, options, builds, sink } = setup('ok');
    const first = await ensureImage('minimal', options);
    const hash = await imageInputsHash('minimal');
    expect(first.dir).toBe(join(cacheDir, `minimal-${hash}`));
    expect(first).toMatchObject({ flavor: 'minimal', hash, kernel: 'vmlinuz', kernelVersion: '6.1.0-test' });
    expect(builds()).toBe(1);
    expect(sink.text()).toContain('image: fake build of minimal started');

    const again = await ensureImage('minimal', { ...options, buildCommand: ['false'] });
    expect(again).toEqual(first);
    expect(builds()).toBe(1);
    expect(readdirSync(cacheDir).sort()).toEqual([`minimal-${hash}`]); // lock released, no temp dirs

    await ensureImage('minimal', { ...options, rebuild: true });
    expect(builds()).toBe(2);
  });

  it('builds once when called concurrently (the second waits on the lock)', async () => {
    const { options, builds, sink } = setup('slow');
    const [a, b, c] = await Promise.all([
      ensureImage('systemd', options),
      ensureImage('systemd', options),
      ensureImage('systemd', options),
    ]);
    expect(builds()).toBe(1);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(sink.text()).toMatch(/waiting for another kola process \(pid \d+\) building the systemd-/);
  });

  it('takes over a lock left by a dead process', async () => {
    const { cacheDir, options, builds } = setup('ok');
    const hash = await imageInputsHash('systemd');
    const dead = spawnSync('true').pid;
    writeFileSync(
      join(cacheDir, `systemd-${hash}.lock`),
      JSON.stringify({ pid: dead, host: hostname(), since: 'then' }),
    );
    await ensureImage('systemd', options);
    expect(builds()).toBe(1);
  });

  it('abort kills the build process group and leaves no temporary directory', async () => {
    const ac = new AbortController();
    const { cacheDir, options, pids } = setup('hang', { signal: ac.signal });
    const p = ensureImage('systemd', options);
    const t0 = Date.now();
    while (!existsSync(pids) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const [script, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    expect(alive(sleeper)).toBe(true);
    expect(readdirSync(cacheDir).some((e) => e.includes('.tmp-'))).toBe(true);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
    const gone = async (pid: number) => {
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
      return !alive(pid);
    };
    expect(await gone(script)).toBe(true);
    expect(await gone(sleeper)).toBe(true);
    expect(readdirSync(cacheDir)).toEqual([]); // no temp dir, no image, no lock
  });

  it('a failing build leaves nothing that looks cached, and the next call builds again', async () => {
    const { cacheDir, options, builds } = setup('fail');
    const err = await ensureImage('systemd', options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MantleError);
    expect((err as MantleError).code).toBe('platform.qemu.image');
    expect((err as Error).message).toContain('boom: the mirror is on fire');
    expect(readdirSync(cacheDir)).toEqual([]);

    await ensureImage('systemd', { ...options, env: { ...options.env, FAKE_MODE: 'ok' } });
    expect(builds()).toBe(2);
  });

  it('a build that exits 0 without the image is an error', async () => {
    const { options } = setup('nodest');
    await expect(ensureImage('minimal', options)).rejects.toThrow(/finished without/);
  });

  it('missing host tools are a ConfigError naming the apt command, before anything runs', async () => {
    const { cacheDir, options, builds } = setup('ok');
    const err = await ensureImage('systemd', {
      ...options,
      requiredTools: hostToolsFor('systemd'),
      env: { ...options.env, PATH: join(scratch, 'no-such-dir') },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as ConfigError).message).toContain('mmdebstrap');
    expect((err as ConfigError).hint).toMatch(/^apt-get install -y --no-install-recommends .*\bmmdebstrap\b/);
    expect((err as ConfigError).hint).toContain('e2fsprogs');
    expect(builds()).toBe(0);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("a build that reports a missing tool (exit 3) is a ConfigError with the script's apt line", async () => {
    const { options } = setup('exit3');
    const err = await ensureImage('minimal', options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).hint).toBe('apt-get install -y --no-install-recommends mmdebstrap');
  });

  it('rejects an unknown flavor', async () => {
    const { options } = setup('ok');
    await expect(ensureImage('fedora' as 'systemd', options)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('image scripts', () => {
  const dir = defaultImageDir();
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

  it('parse (bash -n; the guest-side sh scripts also with dash -n)', async () => {
    const files = [...(await imageInputFiles('systemd', dir)), ...(await imageInputFiles('minimal', dir))];
    const scripts = [...new Set(files)].filter((f) => {
      const head = readFileSync(join(dir, f), 'utf8').slice(0, 40);
      return f.endsWith('.sh') || head.startsWith('#!/bin/sh') || head.startsWith('#!/bin/bash');
    });
    expect(scripts.length).toBeGreaterThan(10);
    for (const f of scripts) {
      const path = join(dir, f);
      execFileSync('bash', ['-n', path]);
      if (readFileSync(path, 'utf8').startsWith('#!/bin/sh') && has('dash'))
        execFileSync('dash', ['-n', path]);
    }
  });

  it.skipIf(!has('jq'))("turns kola's cloud-config JSON into the agent's shell calls", () => {
    const json = JSON.stringify({
      unknown_keys: ['packages'],
      hostname: 'h1',
      ssh_authorized_keys: ['ssh-ed25519 AAAA k1'],
      write_files: [
        { path: '/etc/a', content: "it's\n", permissions: '0600', owner: 'core:core' },
        { path: '/etc/b', content: 'aGkK', encoding: 'b64', defer: true },
      ],
      runcmd: ['echo one', ['touch', '/run/two words']],
      users: ['default', { name: 'alice', groups: ['sudo', 'adm'], ssh_authorized_keys: ['k2'], x: 1 }],
    });
    const out = execFileSync(
      'bash',
      [
        '-c',
        '. "$1"; printf %s "$2" | jq -r "$KOLA_CC_JQ"',
        'sh',
        join(dir, 'common/usr/local/lib/kola/agent.sh'),
        json,
      ],
      { encoding: 'utf8' },
    );
    expect(out.split('\n').filter(Boolean)).toEqual([
      "kola_unknown_key 'packages'",
      "kola_hostname 'h1'",
      "kola_add_key core 'ssh-ed25519 AAAA k1'",
      "kola_user 'alice' '' 'sudo,adm' '' '' '' ''",
      "kola_add_key 'alice' 'k2'",
      `kola_note 'users[1] key "x" is not supported, ignored'`,
      "kola_write_file '/etc/a' '' '0600' 'core:core' 'false' 'it'\\''s",
      "'",
      "kola_write_file '/etc/b' 'b64' '' '' 'false' 'aGkK'",
      `kola_note 'write_files[1] key "defer" is not supported, ignored'`,
      "kola_runcmd 'echo one",
      "'\\''touch'\\'' '\\''/run/two words'\\'''",
    ]);
  });
});
