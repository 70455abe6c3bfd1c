import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AtomicFileWriter,
  cleanOutputDir,
  formatRunStamp,
  HARNESS_TEMP_MARKER,
  prepareOutputDir,
  writeFileAtomic,
} from './output-dir.js';

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'harness-outdir-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

// 2020-05-18 09:04 local time
const now = new Date(2020, 4, 18, 9, 4, 30);

describe('formatRunStamp', () => {
  it('formats like Go "2006-01-02-1504" in local time', () => {
    expect(formatRunStamp(now)).toBe('2020-05-18-0904');
    expect(formatRunStamp(new Date(1999, 11, 31, 23, 59))).toBe('1999-12-31-2359');
  });
});

describe('prepareOutputDir (default _kola_temp layout)', () => {
  it('creates the run dir with the marker and a relative <platform>-latest link to it', async () => {
    const { dir, latestLink } = await prepareOutputDir({ platform: 'qemu', cwd, now, pid: 4242 });
    expect(dir).toBe(join(cwd, '_kola_temp', 'qemu-2020-05-18-0904-4242'));
    expect(latestLink).toBe(join(cwd, '_kola_temp', 'qemu-latest'));
    expect(existsSync(join(dir, HARNESS_TEMP_MARKER))).toBe(true);
    expect(lstatSync(latestLink!).isSymbolicLink()).toBe(true);
    expect(readlinkSync(latestLink!)).toBe('qemu-2020-05-18-0904-4242'); // relative
    expect(realpathSync(latestLink!)).toBe(realpathSync(dir));
    // no temporary links are left behind
    expect(readdirSync(join(cwd, '_kola_temp')).sort()).toEqual(['qemu-2020-05-18-0904-4242', 'qemu-latest']);
  });

  it('moves the latest link to a newer run and leaves the older run alone', async () => {
    const first = await prepareOutputDir({ platform: 'qemu', cwd, now, pid: 1 });
    writeFileSync(join(first.dir, 'keep.txt'), 'old run');
    const second = await prepareOutputDir({ platform: 'qemu', cwd, now, pid: 2 });
    expect(readlinkSync(second.latestLink!)).toBe('qemu-2020-05-18-0904-2');
    expect(readFileSync(join(first.dir, 'keep.txt'), 'utf8')).toBe('old run');
  });

  it('a second run in the same minute with the same pid gets a cleaned directory', async () => {
    const first = await prepareOutputDir({ platform: 'aws', cwd, now, pid: 7 });
    mkdirSync(join(first.dir, 'basic.ssh'), { recursive: true });
    writeFileSync(join(first.dir, 'basic.ssh', 'test.log'), 'stale');
    const second = await prepareOutputDir({ platform: 'aws', cwd, now, pid: 7 });
    expect(second.dir).toBe(first.dir);
    expect(readdirSync(second.dir)).toEqual([HARNESS_TEMP_MARKER]);
  });

  it('refuses when <platform>-latest is a regular file, and creates nothing', async () => {
    mkdirSync(join(cwd, '_kola_temp'));
    writeFileSync(join(cwd, '_kola_temp', 'gce-latest'), 'precious');
    const err = await prepareOutputDir({ platform: 'gce', cwd, now, pid: 3 }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/gce-latest.*not a symlink/);
    expect(readFileSync(join(cwd, '_kola_temp', 'gce-latest'), 'utf8')).toBe('precious');
    expect(readdirSync(join(cwd, '_kola_temp'))).toEqual(['gce-latest']);
  });

  it('refuses when <platform>-latest is a directory', async () => {
    mkdirSync(join(cwd, '_kola_temp', 'gce-latest'), { recursive: true });
    await expect(prepareOutputDir({ platform: 'gce', cwd, now, pid: 3 })).rejects.toThrow(ConfigError);
  });

  it('rejects platform names that would escape _kola_temp', async () => {
    await expect(prepareOutputDir({ platform: '../x', cwd, now })).rejects.toThrow(ConfigError);
  });
});

describe('prepareOutputDir with --output-dir / cleanOutputDir', () => {
  it('refuses a non-kola directory and leaves its files intact', async () => {
    const dir = join(cwd, 'my-results');
    mkdirSync(dir);
    writeFileSync(join(dir, 'thesis.tex'), 'years of work');
    const err = await prepareOutputDir({ platform: 'qemu', outputDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `refusing to remove existing output directory ${dir}: it was not created by kola (no .harness_temp marker)`,
    );
    expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('years of work');
    expect(existsSync(join(dir, HARNESS_TEMP_MARKER))).toBe(false);
  });

  it('removes and recreates a marked directory', async () => {
    const dir = join(cwd, 'out');
    await cleanOutputDir(dir);
    writeFileSync(join(dir, 'old.txt'), 'x');
    const { dir: got, latestLink } = await prepareOutputDir({ platform: 'qemu', outputDir: dir });
    expect(got).toBe(dir);
    expect(latestLink).toBeUndefined();
    expect(readdirSync(dir)).toEqual([HARNESS_TEMP_MARKER]);
    expect(existsSync(join(cwd, '_kola_temp'))).toBe(false);
  });

  it('removes a directory named _*_temp even without the marker', async () => {
    const dir = join(cwd, '_mine_temp');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x'), 'x');
    await cleanOutputDir(dir);
    expect(readdirSync(dir)).toEqual([HARNESS_TEMP_MARKER]);
  });

  it('reuses an existing empty directory', async () => {
    const dir = join(cwd, 'empty');
    mkdirSync(dir);
    await cleanOutputDir(dir);
    expect(readdirSync(dir)).toEqual([HARNESS_TEMP_MARKER]);
  });

  it('refuses when the path is a file', async () => {
    const file = join(cwd, 'file');
    writeFileSync(file, 'data');
    await expect(cleanOutputDir(file)).rejects.toThrow(/not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('data');
  });

  it('creates missing parents', async () => {
    const dir = join(cwd, 'a', 'b', 'c');
    await prepareOutputDir({ platform: 'qemu', outputDir: dir });
    expect(existsSync(join(dir, HARNESS_TEMP_MARKER))).toBe(true);
  });

  it('resolves a relative --output-dir against cwd when given', async () => {
    const { dir } = await prepareOutputDir({ platform: 'qemu', outputDir: 'rel', cwd });
    expect(dir).toBe(join(cwd, 'rel'));
  });
});

describe('writeFileAtomic / AtomicFileWriter', () => {
  it('writes whole files, creating parents, leaving no temp files', async () => {
    const path = join(cwd, 'reports', 'x.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(readdirSync(join(cwd, 'reports'))).toEqual(['x.json']);
  });

  it('serializes concurrent writes so the last call wins', async () => {
    const path = join(cwd, 'f.txt');
    const w = new AtomicFileWriter(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.write(`v${i}`)));
    expect(readFileSync(path, 'utf8')).toBe('v19');
  });

  it('a failed write rejects but does not block later writes', async () => {
    const blocker = join(cwd, 'blocker');
    writeFileSync(blocker, 'file, not dir');
    const bad = new AtomicFileWriter(join(blocker, 'x.txt'));
    await expect(bad.write('a')).rejects.toThrow();
    const w = new AtomicFileWriter(join(cwd, 'ok.txt'));
    await w.write('a');
    expect(readFileSync(join(cwd, 'ok.txt'), 'utf8')).toBe('a');
  });
});
