import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
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
import { isNotFound } from './api/errors.js';
import {
  consoleOutput,
  describeInstance,
  type InstanceInfo,
  runInstance,
  terminateInstances,
} from './api/instances.js';
import type { SubnetInfo } from './api/network.js';
import type { AwsCluster } from './cluster.js';
import { mergeConsole } from './console-merge.js';
import { type AwsFlight, ec2Tags, ledgerKinds } from './flight.js';
import { providerCodeOf } from './network.js';

/** Polls DescribeInstances until the instance is terminated (or EC2 no longer knows it). */
export async function waitTerminated(
  ec2: EC2Client,
  instanceId: string,
  options: { signal: AbortSignal; pollIntervalMs: number; timeoutMs?: number },
): Promise<void> {
  await waitFor(
    async (signal) => {
      const info = await describeInstance(ec2, instanceId, signal);
      return !info || info.state === 'terminated';
    },
    {
      phase: `for instance ${instanceId} to terminate`,
      timeoutMs: options.timeoutMs ?? 10 * 60_000,
      intervalMs: options.pollIntervalMs,
      backoff: 1.5,
      maxIntervalMs: 10_000,
      signal: options.signal,
    },
  );
}

/** The subnets to try, starting at the one the last launch succeeded in. */
function subnetOrder(flight: AwsFlight): Array<{ subnet: Pick<SubnetInfo, 'subnetId'>; index: number }> {
  if (flight.options.subnet) return [{ subnet: { subnetId: flight.options.subnet }, index: 0 }];
  const all = flight.network.subnets;
  return all.map((_, i) => {
    const index = (flight.subnetCursor + i) % all.length;
    return { subnet: all[index]!, index };
  });
}

/** An EC2 instance. Its console is saved before and after termination and merged, as mantle does. */
export class AwsMachine extends BaseMachine {
  private savedConsole = '';
  private terminated = false;

  private constructor(
    private readonly awsCluster: AwsCluster,
    info: Required<InstanceInfo>,
    ledgerKey: string,
  ) {
    super(awsCluster, { id: info.instanceId, ip: info.publicIp, privateIp: info.privateIp, ledgerKey });
  }

  private get flight(): AwsFlight {
    return this.awsCluster.awsFlight;
  }

  /**
   * RunInstances in the first subnet with capacity, then waits for `running` with a public address.
   * The instance is in the ledger as soon as EC2 names it; any failure after that terminates it.
   */
  static async launch(cluster: AwsCluster, request: CreateMachineRequest): Promise<AwsMachine> {
    const flight = cluster.awsFlight;
    const ctx = cluster.ctx;
    throwIfAborted(request.signal);
    const tags = ec2Tags(ctx.tags, {
      Name: cluster.name,
      ...(cluster.config.test ? { 'kola-test': cluster.config.test } : {}),
    });
    const base = {
      imageId: flight.ami.amiId,
      instanceType: flight.options.type,
      securityGroupId: flight.network.securityGroupId,
      userData: request.userData.toString(),
      tags,
      ...(cluster.config.noSshKeyInMetadata ? {} : { keyName: flight.keyName }),
      ...(flight.options.iamProfile ? { iamInstanceProfile: flight.options.iamProfile } : {}),
    };
    let instanceId: string | undefined;
    const candidates = subnetOrder(flight);
    for (const [i, { subnet, index }] of candidates.entries()) {
      try {
        // Not aborted mid-call: an instance EC2 started must be known to be terminated.
        instanceId = await runInstance(flight.ec2, {
          ...base,
          subnetId: subnet.subnetId,
          clientToken: randomUUID(),
        });
        flight.subnetCursor = index;
        break;
      } catch (e) {
        if (providerCodeOf(e) !== 'InsufficientInstanceCapacity' || i === candidates.length - 1) throw e;
        cluster.log.notice(
          `aws: no capacity for ${flight.options.type} in subnet ${subnet.subnetId}; trying the next zone`,
        );
      }
    }
    if (!instanceId) throw new Error('no subnet to launch into');
    const ledgerKey = ctx.ledger.created({
      platform: 'aws',
      kind: ledgerKinds.instance,
      id: instanceId,
      location: flight.options.region,
      cluster: cluster.name,
      ...(cluster.config.test ? { test: cluster.config.test } : {}),
    });
    try {
      const info = await waitFor(
        async (signal) => {
          const i = await describeInstance(flight.ec2, instanceId, signal);
          if (i && (i.state === 'terminated' || i.state === 'shutting-down'))
            return { failed: `instance ${instanceId} is ${i.state} before it ran` };
          return i?.state === 'running' && i.publicIp && i.privateIp
            ? (i as Required<InstanceInfo>)
            : undefined;
        },
        {
          phase: `for instance ${instanceId} to run with a public address`,
          timeoutMs: flight.tuning.runningTimeoutMs,
          intervalMs: flight.tuning.pollIntervalMs,
          backoff: 1.5,
          maxIntervalMs: 10_000,
          signal: request.signal,
        },
      );
      if ('failed' in info)
        throw new PlatformApiError({ platform: 'aws', operation: 'RunInstances' }, info.failed);
      return new AwsMachine(cluster, info, ledgerKey);
    } catch (e) {
      const signal = deadline(undefined, 5 * 60_000, `terminating instance ${instanceId}`);
      try {
        await terminateInstances(flight.ec2, [instanceId], signal);
        await waitTerminated(flight.ec2, instanceId, {
          signal,
          pollIntervalMs: flight.tuning.pollIntervalMs,
        });
        ctx.ledger.destroyed(ledgerKey);
      } catch (t) {
        cluster.log.warn('could not terminate an instance that did not start', {
          instance: instanceId,
          error: errorMessage(t),
        });
      } finally {
        releaseDeadline(signal);
      }
      throw e;
    }
  }

  /** Live console while the instance runs; after termination, the merged before/after capture. */
  async consoleOutput(): Promise<string> {
    if (this.terminated) return this.savedConsole;
    const text = await consoleOutput(this.flight.ec2, this.id, AbortSignal.timeout(60_000));
    this.savedConsole = text;
    return text;
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    const { ec2, tuning } = this.flight;
    const before = this.savedConsole;
    await terminateInstances(ec2, [this.id], signal);
    await waitTerminated(ec2, this.id, { signal, pollIntervalMs: tuning.pollIntervalMs });
    this.terminated = true;
    // An interrupted run skips the wait for the final console: the operator asked to stop.
    if (!this.cluster.ctx.signal.aborted) {
      const after = await this.consoleAfterTermination(before, signal);
      this.savedConsole = mergeConsole(before, after);
    }
    try {
      writeFileSync(join(this.outputDir, 'console.txt'), this.savedConsole);
    } catch (e) {
      this.log.warn('could not save the final console', { error: errorMessage(e) });
    }
  }

  /** Polls GetConsoleOutput until it differs from `before`, within the settle time; '' if never. */
  private async consoleAfterTermination(before: string, signal: AbortSignal): Promise<string> {
    const { ec2, tuning } = this.flight;
    const end = Date.now() + tuning.consoleSettleMs;
    for (;;) {
      try {
        const text = await consoleOutput(ec2, this.id, signal);
        if (text && text !== before) return text;
      } catch (e) {
        if (signal.aborted) return '';
        this.log.debug('console after termination not available', { error: errorMessage(e) });
        if (isNotFound(e)) return '';
      }
      if (Date.now() + tuning.consolePollMs > end) return '';
      try {
        await sleep(tuning.consolePollMs, signal);
      } catch {
        return '';
      }
    }
  }
}
