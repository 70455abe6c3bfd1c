import {
  BaseMachine,
  type CreateMachineRequest,
  deadline,
  errorMessage,
  releaseDeadline,
  throwIfAborted,
} from '@mantle/cluster';
import type { DoCluster } from './cluster.js';
import { type ActiveDroplet, createDroplet, destroyDroplet, waitActive } from './droplets.js';
import { type DoFlight, ledgerKinds } from './flight.js';
import { dropletName } from './tags.js';

/**
 * A droplet (§5.3 of mantle's inventory): `<cluster[0:13]>-<10 hex>`, IPv6 and private networking,
 * the userdata, the flight's key, tags `mantle` and the run's. DigitalOcean has no serial console
 * API, so the console is empty.
 */
export class DoMachine extends BaseMachine {
  private constructor(
    private readonly doCluster: DoCluster,
    droplet: ActiveDroplet,
    ledgerKey: string,
  ) {
    super(doCluster, {
      id: String(droplet.id),
      ip: droplet.publicIp,
      privateIp: droplet.privateIp,
      ledgerKey,
    });
  }

  private get flight(): DoFlight {
    return this.doCluster.doFlight;
  }

  /** Creates the droplet, records it, waits for `active`; any failure after creation destroys it. */
  static async launch(cluster: DoCluster, request: CreateMachineRequest): Promise<DoMachine> {
    const flight = cluster.doFlight;
    const { client, options, tuning } = flight;
    throwIfAborted(request.signal);
    const key = cluster.config.noSshKeyInMetadata ? await flight.fakeKeyFor() : flight.key;
    if (!key) throw new Error('the flight has no SSH key');
    const droplet = await createDroplet(
      client,
      {
        name: dropletName(cluster.name),
        region: options.region,
        size: options.size,
        image: flight.image.ref,
        sshKeys: [key.id],
        userData: request.userData.toString(),
        tags: flight.tags,
      },
      flight.runTag,
      { signal: request.signal, waits: tuning, log: cluster.log },
    );
    const ledgerKey = cluster.ctx.ledger.created({
      platform: 'do',
      kind: ledgerKinds.droplet,
      id: String(droplet.id),
      location: options.region,
      cluster: cluster.name,
      ...(cluster.config.test ? { test: cluster.config.test } : {}),
    });
    try {
      const active = await waitActive(client, droplet.id, tuning, request.signal);
      return new DoMachine(cluster, active, ledgerKey);
    } catch (e) {
      const signal = deadline(undefined, tuning.goneTimeoutMs + 60_000, `destroying droplet ${droplet.id}`);
      try {
        await destroyDroplet(client, droplet.id, tuning, signal);
        cluster.ctx.ledger.destroyed(ledgerKey);
      } catch (t) {
        cluster.log.warn('could not destroy a droplet that did not become active', {
          droplet: droplet.id,
          error: errorMessage(t),
        });
      } finally {
        releaseDeadline(signal);
      }
      throw e;
    }
  }

  async consoleOutput(): Promise<string> {
    return '';
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    await destroyDroplet(this.flight.client, Number(this.id), this.flight.tuning, signal);
  }
}
