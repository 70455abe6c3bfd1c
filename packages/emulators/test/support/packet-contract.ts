import type { PlatformContractSetup } from '@mantle/cluster/testing';
import { platform } from '@mantle/platform-api-packet';
import { type PacketEmulatorSettings, startPacketEmulator } from '../../src/packet/emulator.js';

/**
 * The packet contract's setup on the emulator: the platform code runs unchanged, staging in the
 * emulator's S3 and dialling the public IPv4 the device reports. The failing options name a plan
 * the metro does not have, which device create refuses with 422.
 */
export function packetContractSetup(
  machines: PacketEmulatorSettings['machines'],
  extra: { sshTimeoutMs: number },
): () => Promise<PlatformContractSetup> {
  return async () => {
    const emulator = await startPacketEmulator({
      machines,
      timing: { queuedMs: 50, provisionMs: 150, installMs: 100 },
      log: () => {},
    });
    Object.assign(process.env, emulator.env);
    const options = {
      endpoint: emulator.endpoint,
      storageUrl: emulator.storageUrl,
      storageEndpoint: emulator.storage.endpoint,
      sosEndpoint: emulator.sos.endpoint,
      pollInterval: '100ms',
    };
    return {
      platform,
      options,
      failingOptions: { ...options, plan: 'c3.large.arm64' },
      context: { sshTimeoutMs: extra.sshTimeoutMs },
      listLiveResources: async () => [
        ...(await emulator.backend.live()),
        ...emulator.devices().map((id) => `device ${id}`),
        ...emulator.sshKeys().map((label) => `ssh key ${label}`),
        ...(await emulator.storageObjects()).map((key) => `object ${key}`),
      ],
      // every request the platform made, and every answer, checked against the Metal spec
      teardown: async () => {
        const violations = emulator.takeViolations();
        await emulator.stop();
        if (violations.length) throw new Error(`spec violations: ${JSON.stringify(violations, null, 1)}`);
      },
    };
  };
}
