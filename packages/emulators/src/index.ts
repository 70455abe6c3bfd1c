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
export * from './http/index.js';
// Machine backends: qemu (real VMs), ssh (in-process SSH servers), none.
export * from './machines/backend.js';
