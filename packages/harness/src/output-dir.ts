/**
 * The run output directory: mantle's `_kola_temp/<platform>-<YYYY-MM-DD-HHMM>-<pid>` layout with a
 * relative `<platform>-latest` symlink swapped in atomically, and mantle's CleanOutputDir rule that
 * only ever deletes a directory kola made (a `.harness_temp` marker inside, or a `_*_temp` name).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '@mantle/cluster';
import { matchesPattern } from './selection.js';

/** The default parent of run directories, relative to the working directory. */
export const KOLA_TEMP_DIR = '_kola_temp';
/** The file whose presence marks a directory as kola's to remove and recreate. */
export const HARNESS_TEMP_MARKER = '.harness_temp';

export interface PrepareOutputDirOptions {
  platform: string;
  /** `--output-dir`; when absent the `_kola_temp` layout is used. */
  outputDir?: string;
  /** Directory `_kola_temp` is created in (default: the process working directory). */
  cwd?: string;
  now?: Date;
  pid?: number;
}

export interface PreparedOutputDir {
  /** The run directory, created, cleaned and marked. Relative when `cwd` was not given. */
  dir: string;
  /** `_kola_temp/<platform>-latest`, only in the default layout. */
  latestLink?: string;
}

/** Go's `time.Format("2006-01-02-1504")` in local time. */
export function formatRunStamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}`;
}

/**
 * Creates (or cleans) the run output directory and, in the default layout, points
 * `_kola_temp/<platform>-latest` at it.
 */
export async function prepareOutputDir(options: PrepareOutputDirOptions): Promise<PreparedOutputDir> {
  const { platform } = options;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(platform)) {
    throw new ConfigError(`invalid platform name ${JSON.stringify(platform)} for the output directory`);
  }
  if (options.outputDir !== undefined && options.outputDir !== '') {
    const dir = options.cwd !== undefined ? resolve(options.cwd, options.outputDir) : options.outputDir;
    await cleanOutputDir(dir);
    return { dir };
  }

  const base = options.cwd !== undefined ? join(options.cwd, KOLA_TEMP_DIR) : KOLA_TEMP_DIR;
  const name = `${platform}-${formatRunStamp(options.now ?? new Date())}-${options.pid ?? process.pid}`;
  const dir = join(base, name);
  const latestLink = join(base, `${platform}-latest`);

  await mkdir(base, { recursive: true });
  // Check the link before touching anything, so a refusal leaves no new directory behind.
  await assertReplaceableLink(latestLink);
  await cleanOutputDir(dir);
  await replaceSymlink(name, latestLink);
  return { dir, latestLink };
}

/**
 * mantle's CleanOutputDir: an existing directory is removed only when its basename matches `_*_temp`
 * or it holds the `.harness_temp` marker; an empty one is reused; anything else is refused. The
 * directory is then created and marked. Returns `dir`.
 */
export async function cleanOutputDir(dir: string): Promise<string> {
  const st = await lstatOrUndefined(dir);
  if (st) {
    if (!st.isDirectory()) {
      throw new ConfigError(`refusing to use output directory ${dir}: it exists and is not a directory`);
    }
    if (matchesPattern(basename(resolve(dir)), '_*_temp') || (await isMarked(dir))) {
      await rm(dir, { recursive: true, force: true });
    } else if ((await readdir(dir)).length > 0) {
      throw new ConfigError(
        `refusing to remove existing output directory ${dir}: it was not created by kola (no ${HARNESS_TEMP_MARKER} marker)`,
        { hint: 'choose another --output-dir, or remove the directory yourself' },
      );
    }
  }
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, HARNESS_TEMP_MARKER),
    'This directory was created by kola; the next run using it removes and recreates it.\n',
  );
  return dir;
}

/**
 * Writes a whole file atomically: a temporary file beside it, then rename over the target. Readers
 * (CI tailing reports mid-run) never see a half-written file. Creates parent directories.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Rewrites one file atomically, one write at a time: reporters may be called from parallel tests, and
 * each call's content is captured when it is made, so the file always ends with the latest content.
 * Writes that queue up behind a running one are coalesced: only the newest content is written, and
 * every waiting caller resolves when it is on disk (a burst of finishing tests costs two writes).
 * Content may be a function, rendered only when its write starts, so coalesced writes render once.
 */
export class AtomicFileWriter {
  private running: Promise<void> = Promise.resolve();
  private next: { data: string | (() => string); done: Promise<void> } | undefined;

  constructor(readonly path: string) {}

  write(data: string | (() => string)): Promise<void> {
    if (this.next) {
      this.next.data = data;
      return this.next.done;
    }
    const next: { data: string | (() => string); done: Promise<void> } = { data, done: Promise.resolve() };
    next.done = this.running.then(() => {
      this.next = undefined;
      const writing = writeFileAtomic(this.path, typeof next.data === 'function' ? next.data() : next.data);
      this.running = writing.catch(() => {});
      return writing;
    });
    this.next = next;
    return next.done;
  }
}

async function isMarked(dir: string): Promise<boolean> {
  const st = await lstatOrUndefined(join(dir, HARNESS_TEMP_MARKER));
  return st?.isFile() === true;
}

async function assertReplaceableLink(link: string): Promise<void> {
  const st = await lstatOrUndefined(link);
  if (st && !st.isSymbolicLink()) {
    throw new ConfigError(`refusing to replace ${link}: it exists and is not a symlink`, {
      hint: 'move it out of the way; kola only replaces the symlink it made',
    });
  }
}

/** Creates `link -> target` by renaming a fresh temporary symlink over it (atomic on POSIX). */
async function replaceSymlink(target: string, link: string): Promise<void> {
  const tmp = join(dirname(link), `.${basename(link)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await symlink(target, tmp);
  try {
    // Checked again right before the rename, which would otherwise silently replace a regular file.
    await assertReplaceableLink(link);
    await rename(tmp, link);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
