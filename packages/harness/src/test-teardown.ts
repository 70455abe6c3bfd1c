import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Cluster, errorMessage, type Logger, type Machine } from '@mantle/cluster';
import type { MachineArtifacts } from './result.js';
import type { KeptMachine } from './runner.js';

export interface TearDownResult {
  /** The test's machines, destroyed or kept. */
  machines: Machine[];
  /** Machines kept for the operator (--no-remove). */
  kept: KeptMachine[];
  /** What may be left behind: the destroy failed. Each is also in the test's log. */
  cleanupErrors: string[];
}

/**
 * Ends a test's cluster: destroys it (which saves every machine's console and journal first), or, with
 * `keep`, saves the logs and leaves the machines running for the operator.
 */
export async function tearDownCluster(
  test: string,
  cluster: Cluster,
  keep: boolean,
  log: Logger,
): Promise<TearDownResult> {
  const machines = [...cluster.machines];
  const result: TearDownResult = { machines, kept: [], cleanupErrors: [] };
  if (keep) {
    for (const m of machines) {
      try {
        await m.collectLogs();
      } catch (e) {
        log.warn('could not save the logs of a kept machine', { machine: m.id, error: errorMessage(e) });
      }
      result.kept.push({ test, id: m.id, sshCommand: m.sshCommand() });
    }
    return result;
  }
  try {
    await cluster.destroy();
  } catch (e) {
    const message = `cleanup of test ${test} failed: ${errorMessage(e)}`;
    result.cleanupErrors.push(message);
    log.error(message);
  }
  return result;
}

/** Where each machine's saved files are, relative to the run's output directory. */
export function machineArtifacts(outputDir: string, machines: Machine[]): MachineArtifacts[] {
  return machines.map(({ outputDir: dir }) => {
    const rel = relative(outputDir, dir);
    const a: MachineArtifacts = { id: dir.split('/').pop() ?? rel, dir: rel };
    if (existsSync(join(dir, 'console.txt'))) a.console = join(rel, 'console.txt');
    if (existsSync(join(dir, 'journal.txt'))) a.journal = join(rel, 'journal.txt');
    return a;
  });
}
