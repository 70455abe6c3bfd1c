import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MetalClient } from '@mantle/platform-api-packet';
import type { PacketEmulator } from '../../src/packet/emulator.js';
import { ore, startOre } from './ore-process.js';

/** `ore packet <verb> …` against the emulator, as an operator runs it (key and project in the env). */
export function orePacket(emulator: PacketEmulator, args: string[], env: Record<string, string> = {}) {
  return ore(['packet', ...args, ...emulator.ore, '--packet-poll-interval', '100ms'], {
    ...emulator.env,
    ...env,
  });
}
export function startOrePacket(emulator: PacketEmulator, args: string[], env: Record<string, string> = {}) {
  return startOre(['packet', ...args, ...emulator.ore, '--packet-poll-interval', '100ms'], {
    ...emulator.env,
    ...env,
  });
}

/** A typed client on the emulator, for the test's own set-ups and reads. */
export function metalClientOf(emulator: PacketEmulator): MetalClient {
  return new MetalClient(
    { endpoint: emulator.endpoint, apiKey: emulator.token, initialDelayMs: 10 },
    emulator.projectId,
  );
}

function s3Of(emulator: PacketEmulator): S3Client {
  const s = emulator.storage;
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
}

export async function storageKeys(emulator: PacketEmulator): Promise<string[]> {
  const answer = await s3Of(emulator).send(new ListObjectsV2Command({ Bucket: emulator.storage.bucket }));
  return (answer.Contents ?? []).map((o) => o.Key ?? '').sort();
}

export async function putStorageObject(emulator: PacketEmulator, key: string, body: string): Promise<void> {
  await s3Of(emulator).send(new PutObjectCommand({ Bucket: emulator.storage.bucket, Key: key, Body: body }));
}
