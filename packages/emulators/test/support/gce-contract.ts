import type { PlatformContractSetup } from '@mantle/cluster/testing';
import { platform } from '@mantle/platform-api-gce';
import { type GceEmulatorSettings, startGceEmulator } from '../../src/gce/emulator.js';

/**
 * The gce contract's setup on the emulator: the platform code runs unchanged (no dialer), dialling
 * the external NAT address instances.get reports. Two CPUs of quota in the region: the contract's
 * two n1-standard-1 fit; in the all-or-nothing test the second n1-standard-2 is refused
 * (QUOTA_EXCEEDED, with --gce-quota-wait 0 so it fails at once).
 */
export function gceContractSetup(
  machines: GceEmulatorSettings['machines'],
  extra: { flavor?: GceEmulatorSettings['flavor']; sshTimeoutMs: number },
): () => Promise<PlatformContractSetup> {
  return async () => {
    const emulator = await startGceEmulator({
      machines,
      ...(extra.flavor ? { flavor: extra.flavor } : {}),
      cpuQuota: 2,
      log: () => {},
    });
    const options = {
      endpoint: emulator.endpoint,
      project: emulator.project,
      zone: emulator.zone,
      jsonKey: emulator.keyFile,
      image: emulator.imageName,
      quotaWait: 0,
    };
    return {
      platform,
      options,
      failingOptions: { ...options, machinetype: 'n1-standard-2' },
      context: { sshTimeoutMs: extra.sshTimeoutMs },
      listLiveResources: async () => [...emulator.instances(), ...(await emulator.backend.live())],
      teardown: async () => {
        const violations = emulator.violations();
        await emulator.stop();
        if (violations.length)
          throw new Error(
            `the gce emulator saw requests its specs refuse:\n${JSON.stringify(violations, null, 2)}`,
          );
      },
    };
  };
}
