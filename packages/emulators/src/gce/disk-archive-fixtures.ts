import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test archives made by GNU tar as a user makes GCE images: a sparse raw disk of `sizeBytes` with
 * data at `islands` places (64 KiB each), archived as `name` with `tar --format=<format> -Sczf`.
 */
export function makeDiskArchive(
  options: {
    sizeBytes?: number;
    islands?: number;
    name?: string;
    format?: 'oldgnu' | 'gnu' | 'posix';
    extra?: string;
  } = {},
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'kola-gce-archive-'));
  try {
    const name = options.name ?? 'disk.raw';
    const size = options.sizeBytes ?? 1024 ** 3;
    const fd = openSync(join(dir, name), 'w');
    try {
      execFileSync('truncate', ['-s', String(size), join(dir, name)]);
      const islands = options.islands ?? 3;
      for (let i = 0; i < islands; i++) {
        const data = Buffer.alloc(64 * 1024, `island ${i} `);
        // at MiB boundaries, so tar's holes (found by the file system's extents) leave exactly the islands
        const at = Math.floor(size / islands / 2 ** 20) * 2 ** 20 * i;
        writeSync(fd, data, 0, data.length, at);
      }
    } finally {
      closeSync(fd);
    }
    const files = [name];
    if (options.extra) {
      execFileSync('truncate', ['-s', '1024', join(dir, options.extra)]);
      files.push(options.extra);
    }
    execFileSync('tar', [
      `--format=${options.format ?? 'oldgnu'}`,
      '-Sczf',
      join(dir, 'image.tar.gz'),
      '-C',
      dir,
      ...files,
    ]);
    return readFileSync(join(dir, 'image.tar.gz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
