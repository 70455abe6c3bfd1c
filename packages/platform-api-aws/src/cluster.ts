import {
  BaseCluster,
  type BaseMachine,
  type ClusterConfig,
  type CreateMachineRequest,
} from '@mantle/cluster';
import type { AwsFlight } from './flight.js';
import { AwsMachine } from './machine.js';

const metadataVariable = (name: string) => `\${${name}}`;

/** coreos-metadata's EC2 variables (`${COREOS_EC2_IPV4_PUBLIC}`), as mantle substitutes them. */
export const ec2UserDataVars: Record<string, string> = {
  $public_ipv4: metadataVariable('COREOS_EC2_IPV4_PUBLIC'),
  $private_ipv4: metadataVariable('COREOS_EC2_IPV4_LOCAL'),
};

export class AwsCluster extends BaseCluster {
  constructor(
    readonly awsFlight: AwsFlight,
    config: ClusterConfig,
  ) {
    super(awsFlight, config);
  }

  protected override userDataVars(): Record<string, string> {
    return ec2UserDataVars;
  }

  protected createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    return AwsMachine.launch(this, request);
  }
}
