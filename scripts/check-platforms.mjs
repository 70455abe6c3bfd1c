#!/usr/bin/env node
// Checks that every platform package and the registry (packages/platforms/src/registry.ts) agree, and
// names the exact line to add where they do not: a registry entry, a dependency of
// @mantle/platforms, a project reference, or `pnpm install` to link a new package. Run by the build;
// `node scripts/check-platforms.mjs` alone prints the same and exits 1 on a problem.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The problems, one line each (empty when all is wired up). */
export function checkPlatformWiring(root) {
  const packagesDir = join(root, 'packages');
  const platformDir = join(packagesDir, 'platforms');
  const registry = readFileSync(join(platformDir, 'src/registry.ts'), 'utf8');
  const manifest = JSON.parse(readFileSync(join(platformDir, 'package.json'), 'utf8'));
  const tsconfig = JSON.parse(readFileSync(join(platformDir, 'tsconfig.json'), 'utf8'));
  const references = new Set((tsconfig.references ?? []).map((r) => r.path));
  const problems = [];

  const packages = readdirSync(packagesDir)
    .filter((d) => d.startsWith('platform-api-') && existsSync(join(packagesDir, d, 'package.json')))
    .map((dir) => ({
      dir,
      name: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')).name,
    }));
  const imported = new Set(
    [...registry.matchAll(/import\(\s*'(@mantle\/platform-api-[a-z0-9-]+)'\s*\)/g)].map((m) => m[1]),
  );

  for (const { dir, name } of packages) {
    const short = dir.slice('platform-api-'.length);
    if (!imported.has(name)) {
      problems.push(
        `packages/platforms/src/registry.ts: add the entry { name: '${short}', description: '…', load: async () => (await import('${name}')).platform },`,
      );
      continue;
    }
    if (manifest.dependencies?.[name] !== 'workspace:*')
      problems.push(
        `packages/platforms/package.json: add "${name}": "workspace:*" to "dependencies", then run pnpm install`,
      );
    else if (!existsSync(join(platformDir, 'node_modules', name)))
      problems.push(`${name} is not linked into packages/platforms/node_modules: run pnpm install`);
    if (!references.has(`../${dir}`))
      problems.push(`packages/platforms/tsconfig.json: add { "path": "../${dir}" } to "references"`);
  }
  for (const name of imported)
    if (!packages.some((p) => p.name === name))
      problems.push(
        `packages/platforms/src/registry.ts imports ${name}, which is no package under packages/`,
      );
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
  const problems = checkPlatformWiring(root);
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.exit(problems.length ? 1 : 0);
}
