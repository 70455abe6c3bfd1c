import {
  BaseCluster,
  type BaseMachine,
  type ClusterConfig,
  type CreateMachineRequest,
} from '@mantle/cluster';
import type { QemuFlight } from './flight.js';
import type { EthernetHub } from './hub.js';
import { QemuMachine } from './machine.js';

/** Private addresses of a cluster's machines, as Flatcar's unprivileged QEMU setup uses them. */
export function privateAddress(slot: number): { ip: string; mac: string } {
  if (slot < 1 || slot > 240) throw new RangeError('a qemu cluster holds at most 240 machines');
  return { ip: `172.24.213.${10 + slot}`, mac: `aa:bb:cc:dd:ee:${slot.toString(16).padStart(2, '0')}` };
}

export class QemuCluster extends BaseCluster {
  private readonly slots = new Map<string, number>();

  constructor(
    readonly qemuFlight: QemuFlight,
    config: ClusterConfig,
    readonly hub: EthernetHub,
  ) {
    super(qemuFlight, config);
  }

  slotFor(machineName: string): number {
    let slot = this.slots.get(machineName);
    if (slot === undefined) {
      slot = this.slots.size + 1;
      this.slots.set(machineName, slot);
    }
    return slot;
  }

  /** From inside the guest: slirp's address, and the machine's address on the cluster network. */
  protected override userDataVars(machineName: string): Record<string, string> {
    return { $public_ipv4: '10.0.2.15', $private_ipv4: privateAddress(this.slotFor(machineName)).ip };
  }

  protected createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    return QemuMachine.start(this, request, this.slotFor(request.name));
  }

  protected override async destroyClusterResources(): Promise<void> {
    await this.hub.close();
  }
}
