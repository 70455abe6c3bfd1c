import { describePlatformContract } from '@mantle/cluster/testing';
import { awsContractSetup } from './support/aws-contract.js';

// The shared platform contract for aws, against the emulator with the `ssh` machine backend: the
// backend's SSH server answers at the instance's address with the keys its userdata carries.
describePlatformContract(
  'aws on the emulator (ssh machines)',
  awsContractSetup('ssh', { sshTimeoutMs: 30_000 }),
);
