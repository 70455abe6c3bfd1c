#!/usr/bin/env node
// Builds every package: checks the platform registry's wiring, compiles (tsc -b, incremental),
// writes the start-up manifests (platform flags, kola's test listing) and bundles the kola and ore
// entry points with commander and the CLI core, so that help and `kola list` load a few files, not
// zod or any platform (start-up is measured in bench/cli-startup.mjs). Subcommands stay separate
// modules, imported only when they run.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkPlatformWiring } from './check-platforms.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

const problems = checkPlatformWiring(root);
if (problems.length) {
  process.stderr.write(
    `build: the platform registry is not wired up:\n${problems.map((p) => `  ${p}\n`).join('')}`,
  );
  process.exit(1);
}

execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-b', 'packages/kola', 'packages/ore', 'packages/emulators'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);

const load = (path) => import(pathToFileURL(join(root, path)).href);
await (await load('packages/platforms/dist/write-manifest.js')).writePlatformsManifest();
await (await load('packages/kola/dist/tests/listing.js')).writeTestsManifest();

const esbuild = await import('esbuild');
for (const cli of ['kola', 'ore'])
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [`packages/${cli}/dist/main.js`],
    outfile: `packages/${cli}/dist/${cli}.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // the CLI core is bundled; lazily imported modules and the other workspace packages stay outside
    external: [
      './commands/*',
      './actions.js',
      '@mantle/cluster',
      '@mantle/cluster/*',
      '@mantle/harness*',
      '@mantle/platforms*',
    ],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    minifySyntax: true,
    logLevel: 'warning',
  });
