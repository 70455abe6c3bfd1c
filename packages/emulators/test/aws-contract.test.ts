import { describePlatformContract } from '@mantle/cluster/testing';
import { platform } from '@mantle/platform-api-aws';
import { type AwsEmulator, startAwsEmulator } from '../src/aws/emulator.js';

// The shared platform contract for aws, against the emulator with the `ssh` machine backend: the
// platform code runs unchanged (no dialer): it dials the public address DescribeInstances reports,
// where the backend's SSH server answers with the keys the instance's userdata carries.
let emulator: AwsEmulator | undefined;

describePlatformContract('aws on the emulator (ssh machines)', async () => {
  emulator = await startAwsEmulator({ machines: 'ssh' });
  Object.assign(process.env, emulator.env);
  return {
    platform,
    options: { region: 'us-west-2', endpoint: emulator.endpoint, ami: emulator.amiId, consoleWait: 0 },
    context: { sshTimeoutMs: 30_000 },
    listLiveResources: async () => emulator?.backend.live() ?? [],
    async teardown() {
      await emulator?.stop();
    },
  };
});
