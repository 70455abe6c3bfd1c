import { type Moto, motoCredentials, startMoto } from '@mantle/platform-api-aws/testing';
import type { FaultOptions } from '../faults/faults.js';
import { createMachineBackend, type MachineBackend } from '../machines/backend.js';
import { type AwsFront, startAwsFront } from './front.js';

export interface EmulatedCloud {
  /** The environment that points kola and ore at this cloud (endpoint, credentials, region). */
  env: Record<string, string>;
  /** `kola run` flags: the platform and the image this cloud knows. */
  kola: string[];
  /** `ore aws …` flags. */
  ore: string[];
  stop(): Promise<void>;
}

export interface AwsEmulator extends EmulatedCloud {
  endpoint: string;
  moto: Moto;
  front: AwsFront;
  backend: MachineBackend;
  /** The AMI registered at start, standing for kola's test image. */
  amiId: string;
}

export interface EmulatorSettings {
  machines: 'qemu' | 'ssh' | 'none';
  /** Test image flavour of qemu machines (minimal by default: it boots in seconds). */
  flavor?: 'minimal' | 'systemd';
  /** Port of the API endpoint (default: a free one). */
  port?: number;
  /** Seeded faults at this rate on the API's query calls (`--faults RATE --seed N`). */
  faults?: FaultOptions;
  /** Running-instance limits per instance type (EC2's InstanceLimitExceeded past them). */
  instanceLimits?: Readonly<Record<string, number>>;
  log?: (line: string) => void;
}

const region = 'us-west-2';

/**
 * EC2/S3/IAM/STS on 127.0.0.1: moto behind the front that turns instances into machines of the
 * chosen backend. `stop()` terminates every machine, then moto.
 */
export async function startAwsEmulator(settings: EmulatorSettings): Promise<AwsEmulator> {
  const moto = await startMoto();
  const backend = createMachineBackend(settings.machines);
  let front: AwsFront | undefined;
  try {
    front = await startAwsFront({
      upstream: moto.endpoint,
      backend,
      ...(settings.flavor ? { flavor: settings.flavor } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      ...(settings.faults ? { faults: settings.faults } : {}),
      ...(settings.instanceLimits ? { instanceLimits: settings.instanceLimits } : {}),
      ...(settings.log ? { log: settings.log } : {}),
    });
    const amiId = await registerTestImage(moto.endpoint, settings.flavor ?? 'minimal');
    const endpoint = front.endpoint;
    const started = front;
    return {
      endpoint,
      moto,
      front,
      backend,
      amiId,
      env: {
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
        AWS_REGION: region,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      kola: ['-p', 'aws', '--aws-endpoint', endpoint, '--aws-region', region, '--aws-ami', amiId],
      ore: ['--aws-endpoint', endpoint, '--aws-region', region],
      async stop() {
        await backend.dispose();
        await started.close();
        await moto.stop();
      },
    };
  } catch (e) {
    await backend.dispose();
    await front?.close();
    await moto.stop();
    throw e;
  }
}

/** An AMI in moto that stands for kola's test image (the backend boots that image for it). */
async function registerTestImage(motoEndpoint: string, flavor: string): Promise<string> {
  const r = await fetch(motoEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${motoCredentials.accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({
      Action: 'RegisterImage',
      Version: '2016-11-15',
      Name: `kola-test-image-${flavor}`,
      Architecture: 'x86_64',
      RootDeviceName: '/dev/xvda',
    }).toString(),
  });
  const xml = await r.text();
  const id = /<imageId>([^<]+)<\/imageId>/.exec(xml)?.[1];
  if (!r.ok || !id)
    throw new Error(`could not register the test image in moto: ${r.status} ${xml.slice(0, 200)}`);
  return id;
}
