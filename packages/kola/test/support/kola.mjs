#!/usr/bin/env node
// kola as the repo's tests run it: the shipped CLI (runKola from the built bundle) with the
// shipped platforms plus what the test asks for in this process's environment. Only this test
// entry point reads these variables; the shipped binary (bin/kola.js) never loads code they name.
//   KOLA_TEST_PLATFORMS=name=/abs/module.mjs,…   platforms added to the registry (their `platform` export)
//   KOLA_TEST_MODULES=/abs/tests.mjs,…          tests added to kola's own (their `tests` export)
//   KOLA_TEST_DIALER=/abs/dialer.mjs            SSH routing (its `dialer` export)
import { kolaPlatforms } from '@mantle/platforms/registry';
import { runKola } from '../../dist/kola.js';

const list = (name) => (process.env[name] ?? '').split(',').filter(Boolean);

const testPlatforms = list('KOLA_TEST_PLATFORMS').map((spec) => {
  const [name = '', path = ''] = spec.split('=');
  return { name, description: `test platform from ${path}`, load: async () => (await import(path)).platform };
});
const testModules = list('KOLA_TEST_MODULES');
const dialerModule = process.env.KOLA_TEST_DIALER;

process.exit(
  await runKola(process.argv, {
    platforms: [...kolaPlatforms, ...testPlatforms],
    ...(testModules.length
      ? {
          extraTests: async () =>
            (await Promise.all(testModules.map((m) => import(m)))).flatMap((m) => m.tests),
        }
      : {}),
    ...(dialerModule ? { dialer: (await import(dialerModule)).dialer } : {}),
  }),
);
