import {
  BaseCluster,
  type BaseMachine,
  type ClusterConfig,
  type CreateMachineRequest,
} from '@mantle/cluster';
import type { DoFlight } from './flight.js';
import { DoMachine } from './machine.js';

const metadataVariable = (name: string) => `\${${name}}`;

/** coreos-metadata's DigitalOcean variables, as mantle substitutes them. */
export const doUserDataVars: Record<string, string> = {
  $public_ipv4: metadataVariable('COREOS_DIGITALOCEAN_IPV4_PUBLIC_0'),
  $private_ipv4: metadataVariable('COREOS_DIGITALOCEAN_IPV4_PRIVATE_0'),
};

export class DoCluster extends BaseCluster {
  constructor(
    readonly doFlight: DoFlight,
    config: ClusterConfig,
  ) {
    super(doFlight, config);
  }

  protected override userDataVars(): Record<string, string> {
    return doUserDataVars;
  }

  protected createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    return DoMachine.launch(this, request);
  }
}
