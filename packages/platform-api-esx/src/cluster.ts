import {
  BaseCluster,
  type BaseMachine,
  type ClusterConfig,
  type CreateMachineRequest,
} from '@mantle/cluster';
import type { EsxFlight } from './flight.js';
import { EsxMachine } from './machine.js';

/** mantle's metadata unit writes these from the VM's ens192 address (kola's esx override). */
export const esxUserDataVars: Record<string, string> = {
  $public_ipv4: '${COREOS_ESX_IPV4_PUBLIC_0}',
  $private_ipv4: '${COREOS_ESX_IPV4_PRIVATE_0}',
};

export class EsxCluster extends BaseCluster {
  constructor(
    readonly esxFlight: EsxFlight,
    config: ClusterConfig,
  ) {
    super(esxFlight, config);
  }

  protected override userDataVars(): Record<string, string> {
    return esxUserDataVars;
  }

  protected createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    return EsxMachine.launch(this, request);
  }
}
