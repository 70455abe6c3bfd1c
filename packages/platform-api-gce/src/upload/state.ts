import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kolaCacheDir } from '@mantle/cluster';
import type { Extent } from './sparse-map.js';

/**
 * What an interrupted `ore gcloud upload` leaves to resume from, one file per destination object
 * under kola's cache (`gce-uploads/`): the session URL, the file it was uploading (size and mtime:
 * another file starts afresh), how the stream was made (so the same bytes come again), the raw
 * disk's data extents (so holes are never read again), and the last acknowledged offset with the
 * CRC-32C up to it (so a ready tar.gz resumes reading there).
 */
export interface UploadStateFile {
  version: 1;
  target: string;
  session: string;
  file: { path: string; size: number; mtimeMs: number };
  /**
   * `raw`: made on the way (level, block size, the unit incompressible data is stored in: an older
   * state without it made other bytes); `targz`: the file as it is.
   */
  format:
    | { kind: 'raw'; level: number; blockSize: number; holeBlock: number; storeUnit?: number }
    | { kind: 'targz' };
  extents?: Extent[];
  acknowledged?: { offset: number; crc: number };
  finished?: { crc32c: string; generation?: string };
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(kolaCacheDir(env), 'gce-uploads');
}

/** The destination an upload state belongs to: project, bucket and object. */
export function uploadTarget(project: string, bucket: string, object: string): string {
  return `${project}/${bucket}/${object}`;
}

function pathFor(target: string, dir: string): string {
  return join(dir, `${createHash('sha256').update(target).digest('hex').slice(0, 32)}.json`);
}

export function readUploadState(target: string, dir = stateDir()): UploadStateFile | undefined {
  try {
    const state = JSON.parse(readFileSync(pathFor(target, dir), 'utf8')) as UploadStateFile;
    return state.version === 1 && state.target === target ? state : undefined;
  } catch {
    return undefined; // none, or torn: start afresh
  }
}

/** Written atomically (rename), so a kill mid-write leaves the previous state. */
export function writeUploadState(state: UploadStateFile, dir = stateDir()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = pathFor(state.target, dir);
  // the session URL is a bearer credential for this upload: only the owner reads it
  writeFileSync(`${path}.tmp`, JSON.stringify(state), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function removeUploadState(target: string, dir = stateDir()): void {
  rmSync(pathFor(target, dir), { force: true });
}
