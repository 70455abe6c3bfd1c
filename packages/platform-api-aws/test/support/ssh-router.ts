import {
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  type EC2Client,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';

// The router itself is plain JS (ssh-router.mjs) so a real kola process can load it too.
export { createSshRouter, ec2Query, type MotoTarget, type SshRouter } from './ssh-router.mjs';

/**
 * What a kola run could leave behind in EC2: instances not terminated, and key pairs. The shared
 * security group and its VPC are meant to stay (every run reuses them).
 */
export async function liveKolaResources(ec2: EC2Client): Promise<string[]> {
  const instances = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        {
          Name: 'instance-state-name',
          Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
        },
      ],
    }),
  );
  const keys = await ec2.send(new DescribeKeyPairsCommand({}));
  return [
    ...(instances.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => `instance ${i.InstanceId} (${i.State?.Name})`),
    ...(keys.KeyPairs ?? []).map((k) => `key pair ${k.KeyName}`),
  ];
}

/** Registers an (empty) AMI in moto; returns its id. */
export async function registerTestImage(ec2: EC2Client, name: string): Promise<string> {
  const r = await ec2.send(new RegisterImageCommand({ Name: name }));
  if (!r.ImageId) throw new Error('RegisterImage returned no id');
  return r.ImageId;
}
