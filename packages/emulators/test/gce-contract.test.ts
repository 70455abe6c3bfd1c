import { describePlatformContract } from '@mantle/cluster/testing';
import { gceContractSetup } from './support/gce-contract.js';

// The shared platform contract for gce, against the emulator with the `ssh` machine backend: the
// backend's SSH server answers at the instance's external address with the keys its metadata and
// userdata carry.
describePlatformContract(
  'gce on the emulator (ssh machines)',
  gceContractSetup('ssh', { sshTimeoutMs: 30_000 }),
);
