import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { generateSshIdentity } from '@mantle/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from '../src/aws/emulator.js';
import { tryLogin } from './support/ssh-login.js';

// What a guest reads is what the API was given, decoded as AWS decodes it: RunInstances' UserData
// is base64. A caller that sends it any other way gets a machine that does not have its key.

let emulator: AwsEmulator;
let ec2: EC2Client;
const identity = generateSshIdentity();
const ignition = (key: string) =>
  JSON.stringify({
    ignition: { version: '3.4.0' },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: [key] }] },
  });

beforeAll(async () => {
  emulator = await startAwsEmulator({ machines: 'ssh' });
  ec2 = new EC2Client({
    region: 'us-west-2',
    endpoint: emulator.endpoint,
    credentials: {
      accessKeyId: emulator.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: emulator.env.AWS_SECRET_ACCESS_KEY!,
    },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  ec2?.destroy();
  await emulator?.stop();
});

async function launch(userData: string | undefined, tags: Record<string, string> = {}): Promise<string> {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: emulator.amiId,
      MinCount: 1,
      MaxCount: 1,
      ...(userData === undefined ? {} : { UserData: userData }),
      ...(Object.keys(tags).length
        ? {
            TagSpecifications: [
              {
                ResourceType: 'instance',
                Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
              },
            ],
          }
        : {}),
    }),
  );
  const id = run.Instances![0]!.InstanceId!;
  const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return described.Reservations![0]!.Instances![0]!.PublicIpAddress!;
}

const login = (host: string) => tryLogin(host, identity.privateKey);

describe('userdata reaches the machine only the way AWS passes it', () => {
  it('base64-encoded: the key in the Ignition config logs in, at the address the API reports', async () => {
    const host = await launch(Buffer.from(ignition(identity.publicKey)).toString('base64'));
    expect(host).toMatch(/^127\./);
    expect(await login(host)).toBe('ok');
  });

  it('not base64-encoded: the API refuses it, as EC2 does', async () => {
    await expect(launch(ignition(identity.publicKey))).rejects.toThrow(
      /Invalid BASE64 encoding of user data/,
    );
  });

  it('base64-encoded twice: the guest reads base64 text, not a config, and the key does not log in', async () => {
    const twice = Buffer.from(Buffer.from(ignition(identity.publicKey)).toString('base64')).toString(
      'base64',
    );
    expect(await login(await launch(twice))).toMatch(/authentication/i);
  });

  it('under the wrong key (a tag instead of UserData): the machine has no user-data and no key', async () => {
    const host = await launch(undefined, {
      'user-data': Buffer.from(ignition(identity.publicKey)).toString('base64'),
    });
    expect(await login(host)).toMatch(/authentication/i);
  });
});
