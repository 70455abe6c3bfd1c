import { describePlatformContract } from '@mantle/cluster/testing';
import { doContractSetup } from './support/do-contract.js';

// The shared platform contract for do, against the emulator with the `ssh` machine backend: the
// backend's SSH server answers at the droplet's public IPv4 with the keys its userdata carries.
describePlatformContract(
  'do on the emulator (ssh machines)',
  doContractSetup('ssh', { sshTimeoutMs: 30_000 }),
);
