import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * The run ledger: a crash-safe, append-only record (ledger.jsonl) of every resource a run created.
 * A create line is written and fsync'd before the platform's create call returns; a destroy line
 * when the resource is gone. `kola cleanup --run DIR` destroys whatever has no destroy line.
 */
export interface LedgerResource {
  platform: string;
  /** Resource kind in the platform's words: 'machine', 'key-pair', 'security-group', 'process', … */
  kind: string;
  /** The provider's id of the resource (instance id, droplet id, pid, …). */
  id: string;
  /** Where it lives, when that is needed to find it again (region, zone, resource group). */
  location?: string;
  /** Anything the platform needs to destroy it later from the ledger alone. */
  data?: Record<string, unknown>;
  test?: string;
  cluster?: string;
}

export interface LedgerEntry extends LedgerResource {
  /** `<platform>/<kind>/<location?>/<id>`: unique within a run. */
  key: string;
  createdAt: string;
  destroyedAt?: string;
}

type LedgerLine =
  | ({ event: 'create'; time: string } & LedgerResource & { key: string })
  | { event: 'destroy'; time: string; key: string };

export function ledgerKey(r: Pick<LedgerResource, 'platform' | 'kind' | 'id' | 'location'>): string {
  return [r.platform, r.kind, r.location, r.id].filter((p) => p !== undefined && p !== '').join('/');
}

export class Ledger {
  private fd: number | undefined;

  private constructor(readonly path: string) {
    repairTornTail(path);
    this.fd = openSync(path, 'a', 0o644);
  }

  static open(path: string): Ledger {
    return new Ledger(path);
  }

  /** Records a created resource durably. Returns its key for `destroyed()`. */
  created(resource: LedgerResource): string {
    const key = ledgerKey(resource);
    this.append({ event: 'create', time: new Date().toISOString(), key, ...resource });
    return key;
  }

  destroyed(key: string): void {
    this.append({ event: 'destroy', time: new Date().toISOString(), key });
  }

  private append(line: LedgerLine): void {
    if (this.fd === undefined) this.fd = openSync(this.path, 'a', 0o644);
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    fsyncSync(this.fd);
  }

  /** All entries of this ledger, with their destroy time when destroyed. */
  entries(): LedgerEntry[] {
    return readLedger(this.path);
  }

  alive(): LedgerEntry[] {
    return this.entries().filter((e) => !e.destroyedAt);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * A crash mid-write can leave a last line without its newline. Appending to it (`kola cleanup` marking
 * resources destroyed) would glue two lines into one bad middle line and make the whole ledger
 * unreadable, so before appending: finish a complete last line, drop a torn one (it was unreadable).
 */
function repairTornTail(path: string): void {
  if (!existsSync(path)) return;
  const text = readFileSync(path, 'utf8');
  if (text === '' || text.endsWith('\n')) return;
  const start = text.lastIndexOf('\n') + 1;
  let complete = true;
  try {
    JSON.parse(text.slice(start));
  } catch {
    complete = false;
  }
  if (complete) appendFileSync(path, '\n');
  else truncateSync(path, Buffer.byteLength(text.slice(0, start)));
}

/**
 * Reads a ledger file. A torn last line (crash mid-write) is ignored; any other bad line is a
 * ConfigError naming the file and line.
 */
export function readLedger(path: string): LedgerEntry[] {
  if (!existsSync(path)) throw new ConfigError(`no ledger at ${path}: is this a kola output directory?`);
  const lines = readFileSync(path, 'utf8').split('\n');
  const entries = new Map<string, LedgerEntry>();
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    let line: LedgerLine;
    try {
      line = JSON.parse(text) as LedgerLine;
    } catch {
      if (i >= lines.length - 2) return; // torn final write
      throw new ConfigError(`${path}:${i + 1}: not a JSON ledger line`);
    }
    if (line.event === 'create') {
      const { event: _e, time, ...resource } = line;
      entries.set(line.key, { ...resource, createdAt: time });
    } else if (line.event === 'destroy') {
      const entry = entries.get(line.key);
      if (entry) entry.destroyedAt = line.time;
    }
  });
  return [...entries.values()];
}
