import { ConfigError, errorMessage, PlatformApiError, parseDuration, UsageError } from '@mantle/cluster';
import { type AwsClients, createAwsClients } from '../api/clients.js';
import {
  addImageLaunchPermissions,
  addSnapshotVolumePermissions,
  copyImage,
  createTags,
  describeOwnImages,
  describeOwnSnapshots,
  type Image,
  imageLaunchPermissions,
  type Permissions,
  snapshotVolumePermissions,
  tagsOf,
} from '../api/images.js';
import { ownerTag } from '../tags.js';
import { pollUntil } from './common.js';
import type { AwsVerbInput, copyImageOptions } from './schemas.js';

const regionPattern = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const rootSnapshotOf = (image: Image) =>
  image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName)?.Ebs?.SnapshotId ??
  image.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs?.SnapshotId;

interface Source {
  region: string;
  image: Image;
  imageTags: Record<string, string>;
  snapshotTags: Record<string, string>;
  launch: Permissions;
  volume: Permissions;
}

/**
 * `ore aws copy-image <region>...`: copies the AMI into each region at once, then gives each copy the
 * source's tags, its snapshot the source snapshot's tags, and both the same permissions. A region
 * that already has an ore-made AMI of that name keeps it (re-runs finish what an interrupted run began).
 */
export async function runCopyImage(input: AwsVerbInput<typeof copyImageOptions>): Promise<number> {
  const { options } = input;
  const platform = input.platformOptions;
  const { signal, io, log } = input;
  const pollMs = parseDuration(options.pollInterval, '--poll-interval');
  const timeoutMs = parseDuration(options.copyTimeout, '--copy-timeout');
  const regions = [...new Set(input.args)];
  if (!regions.length) throw new UsageError('copy-image: name at least one destination region');
  for (const r of regions)
    if (!regionPattern.test(r)) throw new UsageError(`copy-image: "${r}" is not a region name`);
  if (regions.includes(platform.region))
    throw new UsageError(`copy-image: ${platform.region} is the source region (--aws-region)`);
  const clients = createAwsClients(platform);
  try {
    const byId = /^ami-[0-9a-f]+$/.test(options.image);
    const found = await describeOwnImages(
      clients,
      byId ? [] : [{ Name: 'name', Values: [options.image] }],
      signal,
      byId ? [options.image] : undefined,
    ).catch((e: unknown) => {
      if (byId && /NotFound|Malformed/.test(errorMessage(e))) return [];
      throw e;
    });
    const image = found[0];
    if (!image?.ImageId || !image.Name)
      throw new ConfigError(`--image ${options.image}: no such AMI of this account in ${platform.region}`);
    const snapshotId = rootSnapshotOf(image);
    const [snapshot] = snapshotId
      ? await describeOwnSnapshots(clients, [], signal, [snapshotId]).catch(() => [])
      : [];
    const source: Source = {
      region: platform.region,
      image,
      imageTags: tagsOf(image),
      snapshotTags: snapshot ? tagsOf(snapshot) : {},
      launch: await imageLaunchPermissions(clients, image.ImageId, signal),
      volume: snapshot
        ? await snapshotVolumePermissions(clients, snapshot.SnapshotId!, signal)
        : { userIds: [], groups: [] },
    };
    const settled = await Promise.allSettled(
      regions.map((region) =>
        copyInto(clients.inRegion(region), source, { pollMs, timeoutMs, signal }, (msg) =>
          log.info(`${region}: ${msg}`),
        ),
      ),
    );
    const result: Record<string, { ami: string; snapshot?: string }> = {};
    const failures: string[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') result[regions[i]!] = s.value;
      else failures.push(`${regions[i]}: ${errorMessage(s.reason)}`);
    });
    io.result(
      result,
      Object.entries(result)
        .map(([r, v]) => `${r}\t${v.ami}\t${v.snapshot ?? '-'}`)
        .join('\n'),
    );
    if (failures.length)
      throw new PlatformApiError(
        { platform: 'aws', operation: 'CopyImage' },
        `${failures.length} of ${regions.length} copies failed: ${failures.join('; ')}`,
      );
    return 0;
  } finally {
    clients.destroy();
  }
}

async function copyInto(
  target: AwsClients,
  source: Source,
  wait: { pollMs: number; timeoutMs: number; signal: AbortSignal },
  say: (msg: string) => void,
): Promise<{ ami: string; snapshot?: string }> {
  const { signal } = wait;
  try {
    const name = source.image.Name!;
    const [existing] = await describeOwnImages(target, [{ Name: 'name', Values: [name] }], signal);
    let ami: string;
    if (existing?.ImageId) {
      if (tagsOf(existing)[ownerTag.key] !== ownerTag.value)
        throw new ConfigError(
          `AMI ${existing.ImageId} is already named "${name}" there and ore did not make it`,
        );
      ami = existing.ImageId;
      say(`reusing ${ami}`);
    } else {
      ami = await copyImage(
        target,
        {
          sourceRegion: source.region,
          sourceImageId: source.image.ImageId!,
          name,
          ...(source.image.Description ? { description: source.image.Description } : {}),
        },
        signal,
      );
      say(`copying ${source.image.ImageId} as ${ami}`);
    }
    // Tag at once so an interrupted copy is recognisably ore's (gc, re-runs).
    await createTags(target, [ami], { ...source.imageTags, [ownerTag.key]: ownerTag.value }, signal);
    const ready = await pollUntil(
      `for ${ami} to become available in ${target.region}`,
      {
        intervalMs: wait.pollMs,
        timeoutMs: wait.timeoutMs,
        signal,
      },
      async () => {
        const [img] = await describeOwnImages(target, [], signal, [ami]);
        if (img?.State === 'failed' || img?.State === 'error')
          throw new PlatformApiError(
            { platform: 'aws', operation: 'CopyImage' },
            `${ami} ${img.State}: ${img.StateReason?.Message ?? 'no reason given'}`,
          );
        return img?.State === 'available' ? img : undefined;
      },
    );
    const snapshot = rootSnapshotOf(ready);
    if (snapshot) {
      await createTags(
        target,
        [snapshot],
        { ...source.snapshotTags, [ownerTag.key]: ownerTag.value },
        signal,
      );
      await addSnapshotVolumePermissions(target, snapshot, source.volume, signal);
    }
    await addImageLaunchPermissions(target, ami, source.launch, signal);
    return { ami, ...(snapshot ? { snapshot } : {}) };
  } finally {
    target.destroy();
  }
}
