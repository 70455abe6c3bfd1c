import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kolaCacheDir } from '@mantle/cluster';
import { writeFileAtomic } from './output-dir.js';
import type { TestResult } from './result.js';

/**
 * How long each test took in earlier runs on one platform. A parallel run starts the longest first
 * (as CTest does with its cost data), so that it does not end with one long test running alone while
 * the other workers have nothing left to do. A missing or unreadable file only means the given order.
 */
export function testDurationsFile(platform: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(kolaCacheDir(env), 'durations', `${platform}.json`);
}

interface DurationsFileContent {
  version: 1;
  /** Test name → milliseconds of its last run that ended (passed or failed). */
  tests: Record<string, number>;
}

export function loadTestDurations(file: string): Map<string, number> {
  let content: Partial<DurationsFileContent>;
  try {
    content = JSON.parse(readFileSync(file, 'utf8')) as Partial<DurationsFileContent>;
  } catch {
    return new Map();
  }
  const entries = Object.entries(content?.tests ?? {}).filter(
    (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]) && e[1] >= 0,
  );
  return new Map(entries);
}

/**
 * The longest remembered first. Tests never timed go before all others, in their given order: they
 * may be the longest of all. Ties keep the given order.
 */
export function longestFirst<T extends { name: string }>(tests: T[], durations: Map<string, number>): T[] {
  return tests
    .map((test, index) => ({ test, index, ms: durations.get(test.name) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => (a.ms === b.ms ? a.index - b.index : b.ms - a.ms))
    .map((entry) => entry.test);
}

/**
 * Remembers the durations of the top-level tests that ran, keeping what the file knows of the
 * others. Skipped tests did not run, and a test whose machines could not be created or that was
 * interrupted says nothing of its length; a timed-out test took at least that long. Written
 * atomically, so a concurrent run reads either the old or the new content.
 */
export async function saveTestDurations(file: string, results: TestResult[]): Promise<void> {
  const durations = loadTestDurations(file);
  let changed = false;
  for (const r of results) {
    if (r.parent !== undefined || r.status === 'SKIP') continue;
    const kind = r.failure?.kind;
    if (kind === 'infrastructure' || kind === 'interrupted') continue;
    const known = durations.get(r.name) ?? 0;
    durations.set(r.name, kind === 'timeout' ? Math.max(known, r.durationMs) : r.durationMs);
    changed = true;
  }
  if (!changed) return;
  const content: DurationsFileContent = {
    version: 1,
    tests: Object.fromEntries([...durations].sort(([a], [b]) => a.localeCompare(b))),
  };
  await writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`);
}
