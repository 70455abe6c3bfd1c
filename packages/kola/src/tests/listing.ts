import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What `kola list` shows of a test. */
export interface TestListing {
  name: string;
  description?: string;
  clusterSize?: number;
  platforms?: { only?: string[]; exclude?: string[] };
  tags?: string[];
  timeoutMs?: number;
}

/**
 * kola's own tests as `kola list` shows them, written by the build (scripts/build.mjs) beside this
 * module, so that listing loads neither the tests nor zod. With `-E` or tests a caller adds, the
 * tests are loaded instead.
 */
export const testsManifestFile = new URL('./tests-manifest.json', import.meta.url);

export function listingOf(test: TestListing): TestListing {
  const { name, description, clusterSize, platforms, tags, timeoutMs } = test;
  return { name, description, clusterSize, platforms, tags, timeoutMs };
}

/** The build's listing, or undefined when there is none (then the tests are loaded). */
export function readTestsManifest(): TestListing[] | undefined {
  try {
    return (JSON.parse(readFileSync(testsManifestFile, 'utf8')) as { tests: TestListing[] }).tests;
  } catch {
    return undefined;
  }
}

/** Writes the listing of kola's own tests (called by scripts/build.mjs). */
export async function writeTestsManifest(): Promise<string> {
  const { loadTests } = await import('./index.js');
  const tests = (await loadTests({})).map(listingOf);
  const path = fileURLToPath(testsManifestFile);
  writeFileSync(path, `${JSON.stringify({ tests }, null, 1)}\n`);
  return path;
}
