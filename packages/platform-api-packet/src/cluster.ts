import {
  BaseCluster,
  type BaseMachine,
  type ClusterConfig,
  type CreateMachineRequest,
} from '@mantle/cluster';
import type { PacketFlight } from './flight.js';
import { PacketMachine } from './machine.js';

const metadataVariable = (name: string) => `\${${name}}`;

/** coreos-metadata's Packet variables, as mantle substitutes them. */
export const packetUserDataVars: Record<string, string> = {
  $public_ipv4: metadataVariable('COREOS_PACKET_IPV4_PUBLIC_0'),
  $private_ipv4: metadataVariable('COREOS_PACKET_IPV4_PRIVATE_0'),
};

export class PacketCluster extends BaseCluster {
  constructor(
    readonly packetFlight: PacketFlight,
    config: ClusterConfig,
  ) {
    super(packetFlight, config);
  }

  protected override userDataVars(): Record<string, string> {
    return packetUserDataVars;
  }

  protected createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    return PacketMachine.launch(this, request);
  }
}
