import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Adding a platform is one package plus one registry entry: in a temp copy of the workspace, a
// throwaway platform package and its entry are added; the check names the two wiring lines the
// build needs, and once they are in, kola and ore (their shipped binaries) pick the platform up.

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const work = mkdtempSync(join(tmpdir(), 'kola-add-platform-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const skipped = new Set(['node_modules', '.git', '_kola_temp']);
function copyWorkspace(): void {
  cpSync(root, work, {
    recursive: true,
    preserveTimestamps: true, // so the incremental build only compiles what the test changes
    filter: (src) =>
      !relative(root, src)
        .split(sep)
        .some((part) => skipped.has(part)),
  });
}

const nimbusPackage = {
  name: '@mantle/platform-api-nimbus',
  version: '0.1.0',
  private: true,
  type: 'module',
  exports: { '.': { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
  dependencies: { '@mantle/cluster': 'workspace:*', zod: '4.6.7' },
};
const nimbusSource = `import { defineCommand, definePlatform } from '@mantle/cluster';
import { fakePlatform } from '@mantle/cluster/testing/fake-platform';
import { z } from 'zod';

export const platform = definePlatform({
  ...fakePlatform,
  name: 'nimbus',
  description: 'Nimbus cloud (machines are local SSH servers)',
  commands: [
    defineCommand(fakePlatform.options, {
      name: 'hello',
      description: 'greet from nimbus',
      options: z.object({ who: z.string().default('world').describe('whom to greet') }),
      async run({ options, platformOptions, io }) {
        io.result({ hello: options.who, stateDir: platformOptions.stateDir });
        return 0;
      },
    }),
  ],
});
`;

function pnpmInstall(): void {
  // links the workspace from the local store (no network)
  execFileSync('pnpm', ['install', '--offline', '--no-frozen-lockfile', '--reporter=silent'], {
    cwd: work,
    stdio: 'inherit',
    env: { ...process.env, CI: '' },
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(command, args, { cwd: work, env, encoding: 'utf8', timeout: 240_000 });
}

describe('a new platform package with one registry entry', () => {
  it('is named by the check until wired, then listed, run and given ore verbs', { timeout: 600_000 }, () => {
    copyWorkspace();
    pnpmInstall();
    const pkg = join(work, 'packages/platform-api-nimbus');
    mkdirSync(join(pkg, 'src'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), `${JSON.stringify(nimbusPackage, null, 2)}\n`);
    writeFileSync(
      join(pkg, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.base.json',
        compilerOptions: { rootDir: 'src', outDir: 'dist' },
        include: ['src'],
        references: [{ path: '../cluster' }],
      }),
    );
    writeFileSync(join(pkg, 'src/index.ts'), nimbusSource);

    // Without an entry, the check says what to add to the registry.
    let check = run(process.execPath, ['scripts/check-platforms.mjs']);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain(
      "packages/platforms/src/registry.ts: add the entry { name: 'nimbus', description: '…', load: async () => (await import('@mantle/platform-api-nimbus')).platform },",
    );

    // The one registry entry, with no cast.
    const registryFile = join(work, 'packages/platforms/src/registry.ts');
    const registry = readFileSync(registryFile, 'utf8');
    writeFileSync(
      registryFile,
      registry.replace(
        '] as const satisfies',
        `  {
    name: 'nimbus',
    description: 'Nimbus cloud',
    load: async () => (await import('@mantle/platform-api-nimbus')).platform,
  },
] as const satisfies`,
      ),
    );

    // The check now names the dependency and the project reference the build needs, exactly.
    check = run(process.execPath, ['scripts/check-platforms.mjs']);
    expect(check.status).toBe(1);
    expect(check.stderr.trim().split('\n')).toEqual([
      'packages/platforms/package.json: add "@mantle/platform-api-nimbus": "workspace:*" to "dependencies", then run pnpm install',
      'packages/platforms/tsconfig.json: add { "path": "../platform-api-nimbus" } to "references"',
    ]);
    const platformsPackage = join(work, 'packages/platforms/package.json');
    const manifest = JSON.parse(readFileSync(platformsPackage, 'utf8'));
    manifest.dependencies['@mantle/platform-api-nimbus'] = 'workspace:*';
    writeFileSync(platformsPackage, JSON.stringify(manifest, null, 2));
    const tsconfigFile = join(work, 'packages/platforms/tsconfig.json');
    const tsconfig = JSON.parse(readFileSync(tsconfigFile, 'utf8'));
    tsconfig.references.push({ path: '../platform-api-nimbus' });
    writeFileSync(tsconfigFile, JSON.stringify(tsconfig, null, 2));

    // Link the new package, then build: the check inside the build passes.
    pnpmInstall();
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: work, stdio: 'inherit' });

    const kola = join(work, 'packages/kola/bin/kola.js');
    const ore = join(work, 'packages/ore/bin/ore.js');
    const env = {
      ...process.env,
      KOLA_FAKE_STATE_DIR: join(work, 'nimbus-state'),
      XDG_CACHE_HOME: join(work, 'cache'),
    };

    // kola list -p knows the platform (an unknown one is a usage error).
    const list = run(process.execPath, [kola, 'list', '-p', 'nimbus', 'basic'], env);
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^basic\s/m);
    expect(run(process.execPath, [kola, 'list', '-p', 'cumulus'], env).status).toBe(2);

    // kola run --help shows its generated flags; kola run boots its machines and passes a test on them.
    expect(run(process.execPath, [kola, 'run', '--help'], env).stdout).toContain('--nimbus-state-dir');
    const tests = join(work, 'ext');
    mkdirSync(tests);
    writeFileSync(join(tests, 'uname'), '#!/bin/sh\nuname -s | grep -q Linux\n');
    chmodSync(join(tests, 'uname'), 0o755);
    const out = join(work, 'out');
    const kolaRun = run(
      process.execPath,
      [kola, 'run', '-p', 'nimbus', '-E', tests, '--output-dir', out, 'ext.*'],
      env,
    );
    expect(kolaRun.stdout).toContain('--- PASS: ext.ext.uname');
    expect(kolaRun.status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'properties.json'), 'utf8')).platform).toBe('nimbus');

    // ore has a group for it, with its verb, its flags and the platform's.
    const help = run(process.execPath, [ore, '--help'], env);
    expect(help.stdout).toMatch(/^\s+nimbus\s+Nimbus cloud$/m);
    const groupHelp = run(process.execPath, [ore, 'nimbus', '--help'], env);
    expect(groupHelp.status).toBe(0);
    expect(groupHelp.stdout).toMatch(/^\s+hello .*greet from nimbus/m);
    const hello = run(
      process.execPath,
      [ore, 'nimbus', 'hello', '--who', 'release engineers', '--json'],
      env,
    );
    expect(hello.stderr).toBe('');
    expect(JSON.parse(hello.stdout)).toEqual({
      hello: 'release engineers',
      stateDir: join(work, 'nimbus-state'),
    });
  });
});
