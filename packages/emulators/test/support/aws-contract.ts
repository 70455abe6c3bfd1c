import type { PlatformContractSetup } from '@mantle/cluster/testing';
import { platform } from '@mantle/platform-api-aws';
import { type EmulatorSettings, startAwsEmulator } from '../../src/aws/emulator.js';

/**
 * The aws contract's setup on the emulator: the platform code runs unchanged (no dialer), dialling
 * the public address DescribeInstances reports. Two t3.nano may run at once, so the third launch of
 * the all-or-nothing test's newMachines(3) is refused (InstanceLimitExceeded).
 */
export function awsContractSetup(
  machines: EmulatorSettings['machines'],
  extra: { flavor?: EmulatorSettings['flavor']; sshTimeoutMs: number },
): () => Promise<PlatformContractSetup> {
  return async () => {
    const emulator = await startAwsEmulator({
      machines,
      ...(extra.flavor ? { flavor: extra.flavor } : {}),
      instanceLimits: { 't3.nano': 2 },
    });
    Object.assign(process.env, emulator.env);
    const options = { region: 'us-west-2', endpoint: emulator.endpoint, ami: emulator.amiId, consoleWait: 0 };
    return {
      platform,
      options,
      failingOptions: { ...options, type: 't3.nano' },
      context: { sshTimeoutMs: extra.sshTimeoutMs },
      listLiveResources: async () => emulator.backend.live(),
      teardown: () => emulator.stop(),
    };
  };
}
