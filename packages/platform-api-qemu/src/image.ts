import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { access, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abortReason, ConfigError, kolaCacheDir, type Logger, MantleError } from '@mantle/cluster';

/**
 * kola's test OS image for the qemu platform: built from Debian packages by `image/build.sh` on first
 * use, cached under `$XDG_CACHE_HOME/kola/images/<flavor>-<hash of the build inputs>`.
 *
 * - `systemd` (default): Debian bookworm minbase + systemd + OpenSSH in a raw ext4 disk (root on NVMe),
 *   booted with `-kernel`; the real Ignition (Debian's 2.14) runs before systemd on the first boot.
 * - `minimal`: the same kernel + a busybox/dropbear initramfs; fast, no systemd/sudo/journal/reboot.
 *
 * Provisioning fw_cfg names are in {@link IMAGE_FW_CFG}; see image/README.md for what each flavor does.
 */

export const IMAGE_FLAVORS = ['systemd', 'minimal'] as const;
export type ImageFlavor = (typeof IMAGE_FLAVORS)[number];

/** QEMU `-fw_cfg name=…` entries the images read on their first boot. */
export const IMAGE_FW_CFG = {
  /** Ignition config (Ignition itself reads it, platform `qemu`) */
  ignition: 'opt/com.coreos/config',
  /** user-data as given: a `#!` script (run once after boot), or `#cloud-config` text */
  userData: 'opt/org.mantle-ts/user-data',
  /** kola's JSON rendering of a cloud-config (the image has jq, no YAML parser) */
  cloudConfigJson: 'opt/org.mantle-ts/cloud-config.json',
  /** `MAC IP/PREFIX` of the private NIC, applied when no config configured it */
  privateNetwork: 'opt/org.mantle-ts/private-network',
} as const;

export interface ImageManifest {
  flavor: ImageFlavor;
  hash: string;
  /** file names relative to the image directory */
  kernel: string;
  initrd?: string;
  disk?: string;
  diskFormat: 'raw';
  /** kernel command line to boot with */
  append: string;
  kernelVersion: string;
  kernelPackage?: string;
  debianSuite: string;
  /** `name=version` of every Debian package in the image */
  packages: string[];
  ignitionVersion: string;
  fwCfg?: Record<string, string>;
  builtAt: string;
  buildSeconds: number;
  /** bytes allocated on disk (the raw disk is sparse) */
  sizeBytes: number;
  apparentSizeBytes?: number;
}

export type CachedImage = ImageManifest & { dir: string };

export interface EnsureImageOptions {
  /** default {@link imageCacheDir} */
  cacheDir?: string;
  log: Logger;
  signal: AbortSignal;
  /** build again even when a cached image exists */
  rebuild?: boolean;
  /** the build inputs (default: this package's `image/`); tests use a copy */
  imageDir?: string;
  /** argv that builds (`… FLAVOR DEST` is appended); default `bash <imageDir>/build.sh` */
  buildCommand?: readonly string[];
  /** host commands checked before building; default the flavor's (see {@link hostToolsFor}) */
  requiredTools?: readonly string[];
  /** environment of the build (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** how often a process waiting for another one's build looks again (default 1000 ms) */
  lockPollMs?: number;
  /** after SIGTERM on abort, how long until SIGKILL (default 10 s) */
  killGraceMs?: number;
}

/** The package's `image/` directory (next to `src/` and `dist/`). */
export function defaultImageDir(): string {
  return fileURLToPath(new URL('../image/', import.meta.url));
}

/** `$XDG_CACHE_HOME/kola/images`, else `~/.cache/kola/images`. */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(kolaCacheDir(env), 'images');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() || e.isSymbolicLink()) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** The files of `imageDir` a flavor's build reads: all but documentation and other flavors' folders. */
export async function imageInputFiles(flavor: ImageFlavor, imageDir = defaultImageDir()): Promise<string[]> {
  const others = IMAGE_FLAVORS.filter((f) => f !== flavor);
  return (await listFiles(imageDir))
    .map((p) => relative(imageDir, p).split(sep).join('/'))
    .filter((rel) => !rel.endsWith('.md') && !others.some((o) => rel.startsWith(`${o}/`)))
    .sort();
}

/**
 * The cache key: sha256 over the flavor and, sorted by path, each input file's path, executable bit
 * and contents (first 16 hex digits). Editing anything the flavor's build uses gives a new image.
 */
export async function imageInputsHash(flavor: ImageFlavor, imageDir = defaultImageDir()): Promise<string> {
  if (!IMAGE_FLAVORS.includes(flavor)) throw new ConfigError(`unknown image flavor "${flavor}"`);
  const h = createHash('sha256');
  h.update(`kola-image\0${flavor}\0`);
  for (const rel of await imageInputFiles(flavor, imageDir)) {
    const p = join(imageDir, rel);
    const st = await stat(p);
    h.update(`${rel}\0${st.mode & 0o111 ? 'x' : '-'}\0${st.size}\0`);
    h.update(await readFile(p));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Host commands each flavor's build runs, and the Debian package of each. */
const toolPackages: Record<string, string> = {
  mmdebstrap: 'mmdebstrap',
  mke2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  unshare: 'util-linux',
  mount: 'mount',
  find: 'findutils',
  bash: 'bash',
};
export function hostToolsFor(flavor: ImageFlavor): string[] {
  return flavor === 'systemd'
    ? ['bash', 'mmdebstrap', 'mke2fs', 'debugfs', 'dpkg-deb', 'apt-get', 'unshare', 'mount']
    : ['bash', 'apt-get', 'apt-cache', 'dpkg-deb', 'find'];
}

async function missingTools(tools: readonly string[], path: string): Promise<string[]> {
  const dirs = path.split(delimiter).filter(Boolean);
  const missing: string[] = [];
  for (const tool of tools) {
    let found = false;
    for (const d of dirs) {
      try {
        await access(join(d, tool), constants.X_OK);
        found = true;
        break;
      } catch {}
    }
    if (!found) missing.push(tool);
  }
  return missing;
}

function aptCommand(packages: string[]): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(packages)].sort().join(' ')}`;
}

async function readManifest(dir: string): Promise<ImageManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as ImageManifest;
    return m && typeof m.kernel === 'string' && typeof m.append === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

function imageError(message: string, hint?: string): MantleError {
  return new MantleError('platform.qemu.image', message, hint ? { hint } : {});
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal, 'waiting for the test image'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal, 'waiting for the test image'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

/**
 * An exclusive lock file (O_EXCL). A lock whose process is gone (same host) is stale: it is renamed
 * away (atomic, so only one waiter wins) and checked to still be the stale one before it is dropped.
 */
async function acquireLock(
  path: string,
  what: string,
  log: Logger,
  signal: AbortSignal,
  pollMs: number,
): Promise<() => Promise<void>> {
  const me: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const mine = JSON.stringify(me);
  let told = false;
  for (;;) {
    if (signal.aborted) throw abortReason(signal, `waiting for the lock on ${what}`);
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(mine);
      await fh.close();
      return async () => {
        try {
          if ((await readFile(path, 'utf8')) === mine) await unlink(path);
        } catch {}
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(text) as LockInfo;
    } catch {}
    const stale = holder
      ? holder.host === me.host && !pidAlive(holder.pid)
      : Date.now() - (await stat(path).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs > 60_000;
    if (stale) {
      const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await rename(path, aside);
        if ((await readFile(aside, 'utf8')) !== text) {
          // it was a fresh lock taken meanwhile: put it back (link fails if another appeared)
          await link(aside, path).catch(() => {});
        }
        await unlink(aside).catch(() => {});
        log.info(`image: removed stale lock ${path}`, { holder: text });
      } catch {}
      continue;
    }
    if (!told) {
      log.notice(
        `image: waiting for another kola process (pid ${holder?.pid ?? '?'}) building the ${what} image`,
      );
      told = true;
    }
    await sleep(pollMs, signal);
  }
}

/** Mount points at or under `dir` (a killed root-mode mmdebstrap can leave /proc etc. mounted). */
function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
      .filter((p) => p === dir || p.startsWith(`${dir}/`));
  } catch {
    return [];
  }
}

async function removeTree(dir: string, log: Logger): Promise<void> {
  const mounts = mountsUnder(dir);
  if (mounts.length) {
    log.warn(`image: not removing ${dir}: still mounted there: ${mounts.join(', ')}`);
    return;
  }
  await rm(dir, { recursive: true, force: true });
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {}
  }
}

/**
 * The test image of `flavor`: the cached one when its manifest exists, else built now (once, even when
 * several kola processes ask at the same time: the others wait on a lock file). The build's progress
 * lines are logged as `image: …` notices; aborting `signal` kills the build's process group and removes
 * its temporary directory. Missing host tools are a ConfigError naming the apt command.
 */
export async function ensureImage(flavor: ImageFlavor, options: EnsureImageOptions): Promise<CachedImage> {
  const { log, signal } = options;
  if (!IMAGE_FLAVORS.includes(flavor))
    throw new ConfigError(`unknown image flavor "${flavor}" (${IMAGE_FLAVORS.join(' or ')})`);
  const imageDir = options.imageDir ?? defaultImageDir();
  const cacheDir = options.cacheDir ?? imageCacheDir(options.env);
  const hash = await imageInputsHash(flavor, imageDir);
  const name = `${flavor}-${hash}`;
  const dir = join(cacheDir, name);

  const cached = async (): Promise<CachedImage | undefined> => {
    const m = await readManifest(dir);
    return m ? { ...m, dir } : undefined;
  };
  if (!options.rebuild) {
    const hit = await cached();
    if (hit) {
      log.debug('image: cached', { flavor, dir });
      return hit;
    }
  }

  const env = options.env ?? process.env;
  const missing = await missingTools(options.requiredTools ?? hostToolsFor(flavor), env.PATH ?? '');
  if (missing.length)
    throw new ConfigError(
      `building the ${flavor} test image needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed`,
      { hint: `${aptCommand(missing.map((t) => toolPackages[t] ?? t))}, or bash scripts/setup-qemu.sh` },
    );

  await mkdir(cacheDir, { recursive: true });
  const release = await acquireLock(
    join(cacheDir, `${name}.lock`),
    name,
    log,
    signal,
    options.lockPollMs ?? 1000,
  );
  try {
    if (!options.rebuild) {
      const hit = await cached(); // built by the process we waited for
      if (hit) return hit;
    }
    // we hold the lock: temporary directories of this image left by killed builds are garbage
    for (const e of await readdir(cacheDir)) {
      if (e.startsWith(`.${name}.tmp-`)) await removeTree(join(cacheDir, e), log);
    }
    await build(flavor, hash, dir, imageDir, cacheDir, options);
    const built = await cached();
    if (!built) throw imageError(`the ${flavor} image build finished without ${join(dir, 'manifest.json')}`);
    return built;
  } finally {
    await release();
  }
}

async function build(
  flavor: ImageFlavor,
  hash: string,
  dest: string,
  imageDir: string,
  cacheDir: string,
  options: EnsureImageOptions,
): Promise<void> {
  const { log, signal } = options;
  if (signal.aborted) throw abortReason(signal, 'building the test image');
  const tmp = join(cacheDir, `.${flavor}-${hash}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
  const argv = [...(options.buildCommand ?? ['bash', join(imageDir, 'build.sh')]), flavor, dest];
  const [cmd, ...args] = argv as [string, ...string[]];
  log.notice(
    `image: building the ${flavor} test image (${hash}), once: about ${flavor === 'systemd' ? 'a minute' : '15 s'}`,
    {
      dir: dest,
    },
  );
  const started = Date.now();
  const child = spawn(cmd, args, {
    // KOLA_NODE: the image build runs image/pvh-kernel.mjs with the node that runs kola
    env: {
      KOLA_NODE: process.execPath,
      ...(options.env ?? process.env),
      KOLA_IMAGE_HASH: hash,
      KOLA_IMAGE_TMPDIR: tmp,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so an abort reaches mmdebstrap, apt, dpkg …
  });
  const tail: string[] = [];
  const lines = (stream: NodeJS.ReadableStream, each: (line: string) => void) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        each(buf.slice(0, i).replace(/\s+$/, ''));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (buf) each(buf);
    });
  };
  if (child.stderr)
    lines(child.stderr, (line) => {
      if (!line) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log.notice(`image: ${line}`);
    });
  if (child.stdout) lines(child.stdout, (line) => line && log.debug(`image: ${line}`));

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    log.notice('image: build interrupted, stopping it');
    killGroup(child, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), options.killGraceMs ?? 10_000);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let exit: { code: number | null; sig: NodeJS.Signals | null; error?: Error };
  try {
    exit = await new Promise((resolve) => {
      child.on('error', (error) => resolve({ code: null, sig: null, error }));
      child.on('close', (code, sig) => resolve({ code, sig }));
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
  if (signal.aborted) {
    killGroup(child, 'SIGKILL'); // stragglers of the group
    await removeTree(tmp, log);
    throw abortReason(signal, 'building the test image');
  }
  if (exit.code === 0) {
    log.notice(`image: ${flavor} image ready in ${Math.round((Date.now() - started) / 1000)}s`, {
      dir: dest,
    });
    return;
  }
  await removeTree(tmp, log);
  const why = exit.error
    ? `could not run ${cmd}: ${exit.error.message}`
    : exit.code !== null
      ? `exited with status ${exit.code}`
      : `was killed by ${exit.sig}`;
  const last = tail.slice(-5).join(' | ');
  if (exit.code === 3) {
    const apt = tail.find((l) => l.includes('apt-get install')) ?? tail.find((l) => l.includes('usermod'));
    throw new ConfigError(`the ${flavor} test image cannot be built on this host: ${last}`, {
      ...(apt ? { hint: apt.replace(/^.*?(apt-get install)/, '$1') } : {}),
    });
  }
  throw imageError(`building the ${flavor} test image failed: the build ${why}${last ? `: ${last}` : ''}`);
}
