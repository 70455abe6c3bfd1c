import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, errorMessage, UserData } from '@mantle/cluster';
import { writeProperties } from '@mantle/harness';
import type { CommonOptions } from '../common-options.js';
import type { KolaCommandEnvironment } from '../environment.js';
import { kolaVersion } from '../version.js';
import { openRunFor, positiveInteger, resolvePlatform, sshSettings } from './setup.js';

export interface SpawnFlags extends CommonOptions {
  nodecount: string;
  userdata?: string;
  detach?: boolean;
  [key: string]: unknown;
}

/**
 * Starts machines and prints an ssh command for each on stdout. Without --detach it keeps them until
 * Ctrl-C, then destroys them (exit 0: that is how spawn is meant to end). With --detach it exits and
 * leaves them in the ledger for `kola cleanup`.
 */
export async function spawnCommand(opts: SpawnFlags, env: KolaCommandEnvironment): Promise<number> {
  const count = positiveInteger(opts.nodecount, '--nodecount');
  let userData: UserData | undefined;
  if (opts.userdata) {
    let text: string;
    try {
      text = readFileSync(opts.userdata, 'utf8');
    } catch (e) {
      throw new ConfigError(`--userdata ${opts.userdata}: ${errorMessage(e)}`);
    }
    userData = UserData.detect(text, opts.userdata);
  }
  const ssh = sshSettings(opts);
  const { platform, options } = await resolvePlatform(opts, env);
  const run = await openRunFor(opts, platform, env, ssh);
  if (opts.detach) run.ctx.detached = true; // local VMs must then outlive this process
  const signal = env.interrupts.signal;
  let keep = false;
  const flight = await platform.createFlight(options, run.ctx);
  try {
    writeProperties(run.outputDir, {
      cmdline: env.argv.slice(1),
      platform: platform.name,
      version: kolaVersion,
      platformProperties: { ...platform.properties(options), ...flight.properties() },
    });
    const cluster = await flight.newCluster({ outputDir: join(run.outputDir, 'spawn'), signal });
    const machines = await cluster.newMachines(count, userData, { signal });
    for (const m of machines) process.stdout.write(`${m.id} ${m.ip}: ${m.sshCommand()}\n`);
    if (opts.detach) {
      keep = true;
      process.stdout.write(`detached; destroy them with: kola cleanup --run ${run.outputDir}\n`);
      return 0;
    }
    run.log.notice('machines are up; press Ctrl-C to destroy them');
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return 0;
  } finally {
    if (!keep) await flight.destroy();
    run.close();
  }
}
