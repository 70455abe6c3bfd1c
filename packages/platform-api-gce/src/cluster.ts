import {
  BaseCluster,
  type BaseMachine,
  type ClusterConfig,
  type CreateMachineRequest,
} from '@mantle/cluster';
import type { GceFlight } from './flight.js';
import { GceMachine } from './machine.js';

/** coreos-metadata's GCE variables, as mantle substitutes them for `$public_ipv4`/`$private_ipv4`. */
const metadataVariable = (name: string) => `\${${name}}`;

export const gceUserDataVars: Record<string, string> = {
  $public_ipv4: metadataVariable('COREOS_GCE_IP_EXTERNAL_0'),
  $private_ipv4: metadataVariable('COREOS_GCE_IP_LOCAL_0'),
};

export class GceCluster extends BaseCluster {
  constructor(
    readonly gceFlight: GceFlight,
    config: ClusterConfig,
  ) {
    super(gceFlight, config);
  }

  protected override userDataVars(): Record<string, string> {
    return gceUserDataVars;
  }

  protected createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    return GceMachine.launch(this, request);
  }
}
