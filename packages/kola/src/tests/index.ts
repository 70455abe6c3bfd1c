import { registerTests, type TestDefinition } from '@mantle/harness';
import { basicTests } from './basic/index.js';
import { clusterTests } from './cluster/index.js';
import { rebootTests } from './reboot/index.js';
import { userDataTests } from './userdata/index.js';

/** Every kola test, listed explicitly by group. */
export const kolaTests: TestDefinition[][] = [basicTests, userDataTests, clusterTests, rebootTests];

/**
 * Extra test modules (absolute paths, comma-separated) whose `tests` export is added: how the repo's
 * own tests run hanging, failing and panicking fixtures through a real kola process.
 */
export const testModulesVariable = 'KOLA_INTERNAL_TEST_MODULES';

export async function loadTests(
  env: NodeJS.ProcessEnv = process.env,
  externalDirs: string[] = [],
): Promise<TestDefinition[]> {
  const extra: TestDefinition[][] = [];
  if (externalDirs.length) extra.push((await import('../external.js')).loadExternalTests(externalDirs));
  for (const path of (env[testModulesVariable] ?? '').split(',').filter(Boolean)) {
    extra.push(((await import(path)) as { tests: TestDefinition[] }).tests);
  }
  return registerTests(...kolaTests, ...extra);
}
