#!/usr/bin/env node
// Builds every package (tsc -b, incremental) and bundles the kola entry point with commander, so that
// `kola --help` loads one file instead of a dozen (start-up is measured in bench/cli-startup.mjs).
// Subcommands stay separate modules, imported only when they run.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-b', 'packages/kola', 'packages/ore'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);

const esbuild = await import('esbuild');
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['packages/kola/dist/main.js'],
  outfile: 'packages/kola/dist/kola.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // lazily imported modules and the workspace packages stay outside the bundle
  external: ['./commands/*', './platform-flags.js', './failure.js', '@mantle/*'],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  minifySyntax: true,
  logLevel: 'warning',
});
