import { registerTests, type TestDefinition } from '@mantle/harness';
import type { KolaDependencies } from '../environment.js';
import { basicTests } from './basic/index.js';
import { clusterTests } from './cluster/index.js';
import { rebootTests } from './reboot/index.js';
import { userDataTests } from './userdata/index.js';

/** Every kola test, listed explicitly by group. */
export const kolaTests: TestDefinition[][] = [basicTests, userDataTests, clusterTests, rebootTests];

/** kola's tests, the external ones from `-E` directories, and those the caller adds. */
export async function loadTests(
  deps: Pick<KolaDependencies, 'extraTests'>,
  externalDirs: string[] = [],
): Promise<TestDefinition[]> {
  const extra: TestDefinition[][] = [];
  if (externalDirs.length) extra.push((await import('../external.js')).loadExternalTests(externalDirs));
  if (deps.extraTests) extra.push(await deps.extraTests());
  return registerTests(...kolaTests, ...extra);
}
