import type { PlatformContractSetup } from '@mantle/cluster/testing';
import { platform } from '@mantle/platform-api-do';
import { type DoEmulatorSettings, startDoEmulator } from '../../src/do/emulator.js';

/**
 * The do contract's setup on the emulator: the platform code runs unchanged (no dialer), dialling
 * the public IPv4 the droplet reports. The failing options name a size DigitalOcean does not have,
 * which droplet create refuses with 422 (retried as mantle does, quickly here).
 */
export function doContractSetup(
  machines: DoEmulatorSettings['machines'],
  extra: { flavor?: DoEmulatorSettings['flavor']; sshTimeoutMs: number },
): () => Promise<PlatformContractSetup> {
  return async () => {
    const emulator = await startDoEmulator({
      machines,
      ...(extra.flavor ? { flavor: extra.flavor } : {}),
      timing: { bootMs: 200, actionMs: 100, importMs: 50 },
      log: () => {},
    });
    Object.assign(process.env, emulator.env);
    const options = { endpoint: emulator.endpoint, region: 'sfo2', image: String(emulator.imageId) };
    return {
      platform,
      options,
      failingOptions: { ...options, size: 's-0vcpu-0gb' },
      context: { sshTimeoutMs: extra.sshTimeoutMs },
      listLiveResources: async () => [
        ...(await emulator.backend.live()),
        ...emulator.droplets().map((id) => `droplet ${id}`),
      ],
      // every request the platform made, and every answer, checked against DigitalOcean's spec
      teardown: async () => {
        const violations = emulator.takeViolations();
        await emulator.stop();
        if (violations.length) throw new Error(`spec violations: ${JSON.stringify(violations, null, 1)}`);
      },
    };
  };
}
