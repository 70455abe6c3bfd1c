import { DeleteKeyPairCommand, type EC2Client, ImportKeyPairCommand, type Tag } from '@aws-sdk/client-ec2';
import { awsCall, isNotFound } from './errors.js';

/** Imports an OpenSSH public key as an EC2 key pair; returns its id. */
export async function importKeyPair(
  ec2: EC2Client,
  name: string,
  publicKey: string,
  tags: Tag[],
  signal?: AbortSignal,
): Promise<string> {
  const r = await awsCall('ImportKeyPair', () =>
    ec2.send(
      new ImportKeyPairCommand({
        KeyName: name,
        PublicKeyMaterial: Buffer.from(publicKey),
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: tags }],
      }),
      { abortSignal: signal },
    ),
  );
  return r.KeyPairId ?? name;
}

/** Deletes a key pair by name; already gone is success. */
export async function deleteKeyPair(ec2: EC2Client, name: string, signal?: AbortSignal): Promise<void> {
  try {
    await awsCall('DeleteKeyPair', () =>
      ec2.send(new DeleteKeyPairCommand({ KeyName: name }), { abortSignal: signal }),
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
