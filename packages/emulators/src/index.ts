// HTTP fakes: routing, pagination, long-running operations, spec validation, faults.

// The AWS emulator: moto behind a front whose instances are machines of a backend.
export {
  type AwsEmulator,
  type EmulatedCloud,
  type EmulatorSettings,
  startAwsEmulator,
} from './aws/emulator.js';
export { type AwsFront, startAwsFront } from './aws/front.js';
export { createImdsHandler, type ImdsInstance } from './aws/imds.js';
export { type Azurite, devStoreAccount, type StorageAccountKey, startAzurite } from './azure/azurite.js';
export { createTestCertificate, type TestCertificate } from './azure/certificate.js';
// The Azure emulator: Resource Manager over HTTPS checked against Microsoft's Swagger, a token endpoint, azurite.
export { type AzureEmulator, type AzureEmulatorSettings, startAzureEmulator } from './azure/emulator.js';
// The DigitalOcean emulator: API v2 checked against DO's spec, Spaces on moto; droplets are machines.
export type { DoTiming } from './do/context.js';
export { type DoEmulator, type DoEmulatorSettings, startDoEmulator } from './do/emulator.js';
export { createDoMetadataHandler, type DoMetadataDroplet } from './do/metadata.js';
// vcsim (govmomi's vSphere simulator built from Debian's packages) for the esx tests.
export { startVcsim, type Vcsim, type VcsimSettings, vcsimBinary } from './esx/vcsim.js';
// The GCE emulator: Compute Engine and Cloud Storage on one server; instances are machines of a backend.
export { type GceEmulator, type GceEmulatorSettings, startGceEmulator } from './gce/emulator.js';
export { createGceMetadataHandler, type GceMetadataView } from './gce/metadata.js';
export * from './http/index.js';
// Machine backends: qemu (real VMs), ssh (in-process SSH servers), none.
export * from './machines/backend.js';
// The Equinix Metal (Packet) emulator: API v1 checked against its spec; custom_ipxe devices follow the iPXE path.
export { type PacketEmulator, type PacketEmulatorSettings, startPacketEmulator } from './packet/emulator.js';
