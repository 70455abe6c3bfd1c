import { RegisterImageCommand } from '@aws-sdk/client-ec2';
import type { Platform } from '@mantle/cluster';
import { describePlatformContract } from '@mantle/cluster/testing';
import { createAwsClients } from '../src/api/clients.js';
import { AwsFlight } from '../src/flight.js';
import { platform } from '../src/index.js';
import { motoCredentials, startMoto } from '../src/testing/moto.js';
import { startFaultProxy } from './support/fault-proxy.js';
import { createSshRouter, liveKolaResources } from './support/ssh-router.js';

// Short waits: moto answers at once and its console never changes after termination.
const fastTuning = { pollIntervalMs: 100, consoleSettleMs: 300, consolePollMs: 100 };

describePlatformContract(
  'aws (moto)',
  async () => {
    process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
    const moto = await startMoto();
    const clients = createAwsClients(moto.options(), { maxAttempts: 1 });
    const ec2 = await clients.ec2();
    const image = await ec2.send(new RegisterImageCommand({ Name: 'kola-contract-image' }));
    // the second RunInstances of a flight through this front fails with a non-retryable error
    const failing = await startFaultProxy(moto.endpoint, (action, _params, nth) =>
      action === 'RunInstances' && nth === 2
        ? { status: 400, code: 'InvalidParameterValue', message: 'injected failure' }
        : undefined,
    );
    const router = createSshRouter({ endpoint: moto.endpoint });
    const awsPlatform: Platform<typeof platform.options> = {
      ...platform,
      createFlight: (options, ctx) => AwsFlight.create(options, ctx, fastTuning),
    };
    return {
      platform: awsPlatform,
      options: moto.options({ ami: image.ImageId! }),
      failingOptions: moto.options({ ami: 'kola-contract-image', endpoint: failing.endpoint }),
      context: { dialer: router.dialer, sshTimeoutMs: 20_000 },
      listLiveResources: () => liveKolaResources(ec2),
      async teardown() {
        await router.close();
        await failing.close();
        clients.destroy();
        await moto.stop();
      },
    };
  },
  { timeoutMs: 60_000 },
);
