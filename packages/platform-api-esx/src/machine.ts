import { randomBytes } from 'node:crypto';
import {
  BaseMachine,
  type CreateMachineRequest,
  deadline,
  errorMessage,
  releaseDeadline,
  throwIfAborted,
} from '@mantle/cluster';
import type { EsxCluster } from './cluster.js';
import { type EsxFlight, ledgerKinds } from './flight.js';
import { markerOptions, optionValue } from './markers.js';
import { isFault } from './soap/faults.js';
import { type MoRef, moref, text, typed, type XmlObject } from './soap/xml.js';
import { parseDatastorePath, powerOffAndDestroy } from './vm.js';

/** mantle's machine name: `<cluster>-<10 hex>`. */
export function vmName(cluster: string): string {
  return `${cluster}-${randomBytes(5).toString('hex')}`;
}

/** The config the guest reads: Ignition's vmware provider reads these guestinfo keys. */
export function ignitionExtraConfig(userData: string): XmlObject[] {
  return [
    optionValue('guestinfo.ignition.config.data', Buffer.from(userData).toString('base64')),
    optionValue('guestinfo.ignition.config.data.encoding', 'base64'),
  ];
}

/**
 * A clone of the base VM (§5.4 of mantle's inventory): markers in the clone's own config (so gc can
 * trust it from its first moment), then a serial port on `<vm dir>/serial.out`, the userdata in
 * guestinfo (any base VM) and in the vApp properties where the base VM defines them (mantle's only
 * way), power on, the first IPv4 of guest.net.
 */
export class EsxMachine extends BaseMachine {
  private constructor(
    private readonly esxCluster: EsxCluster,
    readonly vm: MoRef,
    readonly name: string,
    private readonly vmDir: { datastore: string; path: string },
    ip: string,
    ledgerKey: string,
  ) {
    super(esxCluster, { id: name, ip, privateIp: ip, ledgerKey });
  }

  private get flight(): EsxFlight {
    return this.esxCluster.esxFlight;
  }

  static async launch(cluster: EsxCluster, request: CreateMachineRequest): Promise<EsxMachine> {
    const flight = cluster.esxFlight;
    const { client, placement, base } = flight;
    const signal = request.signal;
    throwIfAborted(signal);
    const name = vmName(cluster.name);

    const location: Record<string, XmlObject | MoRef | XmlObject[]> = {
      datastore: placement.datastore.ref,
      pool: placement.pool.ref,
    };
    if (base.nic && flight.nicBacking) {
      location.deviceChange = [
        {
          operation: 'edit',
          device: typed(base.nic.type, { key: base.nic.key, backing: flight.nicBacking }),
        },
      ];
    }
    const tags = { ...cluster.ctx.tags, ...(cluster.config.test ? { test: cluster.config.test } : {}) };
    const spec: XmlObject = {
      location,
      template: false,
      config: { extraConfig: markerOptions(tags, new Date()) },
      powerOn: false,
    };
    const result = await client.runTask(
      'CloneVM_Task',
      client.cloneVM(base.ref, placement.folder, name, spec, signal),
      signal,
    );
    const vm = moref(result);
    if (!vm) throw new Error(`CloneVM_Task of ${name} gave no VM`);
    const ledgerKey = cluster.ctx.ledger.created({
      platform: 'esx',
      kind: ledgerKinds.vm,
      id: name,
      cluster: cluster.name,
      location: placement.datacenter.name,
      data: { moref: vm.value },
      ...(cluster.config.test ? { test: cluster.config.test } : {}),
    });
    try {
      const files = await client.properties(
        vm,
        ['config.files.logDirectory', 'config.files.vmPathName'],
        signal,
      );
      const dirText =
        text(files.get('config.files.logDirectory')) ?? text(files.get('config.files.vmPathName')) ?? '';
      const dir = parseDatastorePath(dirText.replace(/\/[^/]*\.vmx$/, '/')) ?? {
        datastore: placement.datastore.name,
        path: name,
      };
      const userData = request.userData.toString();
      const reconfig: Record<string, unknown> = {
        annotation: `made by kola run ${cluster.ctx.runId} for ${cluster.config.test ?? cluster.name}`,
        deviceChange: [
          {
            operation: 'add',
            device: typed('VirtualSerialPort', {
              key: -1,
              backing: typed('VirtualSerialPortFileBackingInfo', {
                fileName: `[${dir.datastore}] ${dir.path ? `${dir.path}/` : ''}serial.out`,
              }),
              yieldOnPoll: true,
            }),
          },
        ],
        extraConfig: [
          ...ignitionExtraConfig(userData),
          ...Object.entries(flight.tuning.extraConfig).map(([k, v]) => optionValue(k, v)),
        ],
      };
      const vapp = vAppEdit(base.vAppProperties, userData);
      if (vapp) reconfig.vAppConfig = vapp;
      await client.runTask('ReconfigVM_Task', client.reconfigVM(vm, reconfig as XmlObject, signal), signal);
      await client.runTask('PowerOnVM_Task', client.powerOnVM(vm, signal), signal);
      const ipSignal = deadline(signal, flight.tuning.ipTimeoutMs, `waiting for an IP address of VM ${name}`);
      let ip: string;
      try {
        ip = await client.waitForIp(vm, ipSignal);
      } finally {
        releaseDeadline(ipSignal);
      }
      cluster.log.info('esx: VM up', { vm: name, ip });
      return new EsxMachine(cluster, vm, name, dir, ip, ledgerKey);
    } catch (e) {
      const cleanup = deadline(undefined, 120_000, `destroying VM ${name}`);
      try {
        await powerOffAndDestroy(client, vm, cleanup);
        cluster.ctx.ledger.destroyed(ledgerKey);
      } catch (t) {
        cluster.log.warn('could not destroy a VM that did not come up', { vm: name, error: errorMessage(t) });
      } finally {
        releaseDeadline(cleanup);
      }
      throw e;
    }
  }

  async consoleOutput(): Promise<string> {
    const signal = deadline(undefined, 60_000, `reading the console of VM ${this.name}`);
    try {
      const path = `${this.vmDir.path ? `${this.vmDir.path}/` : ''}serial.out`;
      return (
        await this.flight.client.getDatastoreFile(
          this.flight.placement.datacenter.name,
          this.vmDir.datastore,
          path,
          signal,
        )
      ).toString('utf8');
    } catch (e) {
      if (isFault(e, 'FileNotFound')) return '';
      throw e;
    } finally {
      releaseDeadline(signal);
    }
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    const { client, placement } = this.flight;
    await powerOffAndDestroy(client, this.vm, signal);
    // real vSphere leaves files it did not make (serial.out) in the VM's folder; vcsim removes all
    if (this.vmDir.path) {
      await client
        .deleteDatastoreFile(placement.datacenter.ref, this.vmDir.datastore, this.vmDir.path, signal)
        .catch((e: unknown) => {
          if (!isFault(e, 'FileNotFound')) throw e;
        });
    }
  }
}

/** mantle's vApp properties, edited when the base VM defines them (both must exist, as mantle). */
export function vAppEdit(props: Map<string, string>, userData: string): XmlObject | undefined {
  const dataKey = props.get('guestinfo.coreos.config.data');
  const encodingKey = props.get('guestinfo.coreos.config.data.encoding');
  if (dataKey === undefined || encodingKey === undefined) return undefined;
  return {
    property: [
      {
        operation: 'edit',
        info: {
          key: Number(dataKey),
          id: 'guestinfo.coreos.config.data',
          value: Buffer.from(userData).toString('base64'),
        },
      },
      {
        operation: 'edit',
        info: { key: Number(encodingKey), id: 'guestinfo.coreos.config.data.encoding', value: 'base64' },
      },
    ],
  };
}
