import { describePlatformContract } from '@mantle/cluster/testing';
import { packetContractSetup } from './support/packet-contract.js';

// The shared platform contract for packet, against the emulator with the `ssh` machine backend: each
// device follows the staged iPXE script to its installer config, and the backend's SSH server answers
// at the device's public IPv4 with the keys of the config's /userdata.
describePlatformContract(
  'packet on the emulator (ssh machines)',
  packetContractSetup('ssh', { sshTimeoutMs: 30_000 }),
);
