import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeEntries } from './describe.js';
import { manifestFile } from './manifest.js';
import { kolaPlatforms } from './registry.js';

/** Writes the registry's descriptions beside the built module (called by scripts/build.mjs). */
export async function writePlatformsManifest(): Promise<string> {
  const platforms = await describeEntries(kolaPlatforms);
  const path = fileURLToPath(manifestFile);
  writeFileSync(path, `${JSON.stringify({ platforms }, null, 1)}\n`);
  return path;
}
