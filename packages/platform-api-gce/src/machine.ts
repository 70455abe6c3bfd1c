import { randomBytes } from 'node:crypto';
import {
  BaseMachine,
  type CreateMachineRequest,
  deadline,
  errorMessage,
  PlatformApiError,
  releaseDeadline,
  sleep,
  throwIfAborted,
  waitFor,
} from '@mantle/cluster';
import { isNotFound, providerCodeOf, quotaCodes } from './api/errors.js';
import {
  deleteInstance,
  getInstance,
  type Instance,
  insertInstance,
  serialPortOutput,
} from './api/instances.js';
import { waitOperation } from './api/operations.js';
import type { GceCluster } from './cluster.js';
import { type GceFlight, ledgerKinds } from './flight.js';
import { labelsOf } from './labels.js';

/** mantle's machine name: `<basename>-<20 hex>` (crypto random). */
export function machineName(basename: string): string {
  return `${basename}-${randomBytes(10).toString('hex')}`;
}

/** The `ssh-keys` metadata: one `<user>:<key>` line per key, the format GCE's guest agent reads. */
export function sshKeysMetadata(user: string, keys: readonly string[]): string {
  return keys.map((k) => `${user}:${k.trim()}`).join('\n');
}

interface Addresses {
  ip: string;
  privateIp: string;
}

/** The external NAT address and the internal one, once the instance runs. */
export function addressesOf(instance: Instance | undefined): Addresses | undefined {
  const nic = instance?.networkInterfaces?.[0];
  const ip = nic?.accessConfigs?.find((a) => a.natIP)?.natIP;
  const privateIp = nic?.networkIP;
  return ip && privateIp ? { ip, privateIp } : undefined;
}

/** A Compute Engine instance; its serial console is read incrementally and saved before it is deleted. */
export class GceMachine extends BaseMachine {
  private console = '';
  /** The offset of the next serial read: nothing read twice, nothing skipped. */
  private consoleNext = 0;
  private deleted = false;

  private constructor(
    private readonly gceCluster: GceCluster,
    id: string,
    addresses: Addresses,
    ledgerKey: string,
  ) {
    super(gceCluster, { id, ...addresses, ledgerKey });
  }

  private get flight(): GceFlight {
    return this.gceCluster.gceFlight;
  }

  /**
   * instances.insert with the cluster's userdata and keys, the zone operation awaited, then RUNNING
   * with both addresses. The name is in the ledger before the insert; any failure deletes it.
   */
  static async launch(cluster: GceCluster, request: CreateMachineRequest): Promise<GceMachine> {
    const flight = cluster.gceFlight;
    const { options, clients, tuning } = flight;
    const ctx = cluster.ctx;
    throwIfAborted(request.signal);
    const name = machineName(options.basename);
    const test: Record<string, string> = cluster.config.test ? { 'kola-test': cluster.config.test } : {};
    const metadata: Record<string, string> = {
      'created-by': 'mantle',
      ...ctx.tags,
      ...test,
      'user-data': request.userData.toString(),
    };
    if (!cluster.config.noSshKeyInMetadata)
      metadata['ssh-keys'] = sshKeysMetadata(ctx.ssh.user, ctx.ssh.authorizedKeys);
    const spec = {
      name,
      zone: options.zone,
      machineType: options.machinetype,
      sourceImage: flight.image.url,
      diskType: options.disktype,
      diskSizeGb: options.diskSize,
      network: options.network,
      labels: labelsOf(ctx.tags, { 'kola-cluster': cluster.name, ...test }),
      metadata,
      tags: ['https-server', 'http-server'],
    };
    const ledgerKey = ctx.ledger.created({
      platform: 'gce',
      kind: ledgerKinds.instance,
      id: name,
      location: options.zone,
      cluster: cluster.name,
      data: { project: clients.project },
      ...(cluster.config.test ? { test: cluster.config.test } : {}),
    });
    const log = cluster.log.child({ machine: name });
    try {
      const quotaUntil = Date.now() + tuning.quotaWaitMs;
      for (let attempt = 1; ; attempt++) {
        // Not aborted mid-call: an instance GCE started must be known, so it can be deleted.
        const op = await insertInstance(clients, clients.project, spec, { signal: request.signal, log });
        try {
          await waitOperation(
            clients,
            `creating instance ${name}`,
            op,
            { zone: options.zone },
            {
              signal: request.signal,
              timeoutMs: tuning.operationTimeoutMs,
              log,
            },
          );
          break;
        } catch (e) {
          // a quota the other tests hold (CPUs, addresses): the failed insert made nothing; ask again
          const code = providerCodeOf(e);
          const wait = Math.min(30_000, 2000 * 2 ** (attempt - 1));
          if (!code || !quotaCodes.has(code) || Date.now() + wait > quotaUntil) throw e;
          log.notice(`gce: ${code} creating ${name}; trying again in ${Math.round(wait / 1000)}s`);
          await sleep(wait, request.signal);
        }
      }
      const addresses = await waitFor(
        async (signal) => {
          const instance = await getInstance(clients, options.zone, name, { signal, log });
          const status = instance?.status ?? '';
          if (['STOPPING', 'TERMINATED', 'SUSPENDED'].includes(status))
            return { failed: `instance ${name} is ${status} before it ran` };
          return status === 'RUNNING' ? addressesOf(instance) : undefined;
        },
        {
          phase: `for instance ${name} to run with an external address`,
          timeoutMs: tuning.runningTimeoutMs,
          intervalMs: tuning.pollIntervalMs,
          backoff: 1.5,
          maxIntervalMs: 10_000,
          signal: request.signal,
        },
      );
      if ('failed' in addresses)
        throw new PlatformApiError({ platform: 'gce', operation: 'instances.insert' }, addresses.failed);
      return new GceMachine(cluster, name, addresses, ledgerKey);
    } catch (e) {
      const signal = deadline(undefined, tuning.operationTimeoutMs, `deleting instance ${name}`);
      try {
        await deleteInstance(clients, options.zone, name, {
          signal,
          timeoutMs: tuning.operationTimeoutMs,
          log,
        });
        ctx.ledger.destroyed(ledgerKey);
      } catch (t) {
        log.warn('could not delete an instance that did not start', { error: errorMessage(t) });
      } finally {
        releaseDeadline(signal);
      }
      throw e;
    }
  }

  /**
   * The serial console (port 1) so far: each read asks from where the last one ended (`next`), so
   * nothing is read twice; output the console's buffer dropped before it was read is marked.
   */
  async consoleOutput(): Promise<string> {
    if (this.deleted) return this.console;
    const { clients, options } = this.flight;
    const signal = AbortSignal.timeout(60_000);
    try {
      for (let reads = 0; reads < 64; reads++) {
        const chunk = await serialPortOutput(clients, options.zone, this.id, this.consoleNext, {
          signal,
          log: this.log,
        });
        if (chunk.start > this.consoleNext)
          this.console += `\n[kola: ${chunk.start - this.consoleNext} bytes of console output were lost before they were read]\n`;
        this.console += chunk.contents;
        const advanced = chunk.next > this.consoleNext;
        this.consoleNext = Math.max(this.consoleNext, chunk.next);
        if (!chunk.contents || !advanced) break;
      }
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return this.console;
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    const { clients, options, tuning } = this.flight;
    await deleteInstance(clients, options.zone, this.id, {
      signal,
      timeoutMs: tuning.operationTimeoutMs,
      log: this.log,
    });
    this.deleted = true;
  }
}
