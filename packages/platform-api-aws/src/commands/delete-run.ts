import { ConfigError, retry, UsageError } from '@mantle/cluster';
import { createAwsClients } from '../api/clients.js';
import {
  deleteSnapshot,
  deregisterImage,
  describeOwnImages,
  describeOwnSnapshots,
  type Image,
  tagsOf,
} from '../api/images.js';
import { ownerTag } from '../tags.js';
import type { AwsVerbInput, deleteOptions } from './schemas.js';

const isOurs = (r: { Tags?: Array<{ Key?: string; Value?: string }> }) =>
  tagsOf(r)[ownerTag.key] === ownerTag.value;
const snapshotsOf = (i: Image) =>
  (i.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));

/**
 * `ore aws delete <ami|name>...`: deregisters AMIs ore made and deletes their snapshots. There is no
 * flag to delete what ore did not make (no CreatedBy=mantle tag): that is for the AWS console or CLI.
 * A snapshot another remaining AMI still uses is kept. Every name is checked before anything goes.
 */
export async function runDelete(input: AwsVerbInput<typeof deleteOptions>): Promise<number> {
  const { options } = input;
  const platform = input.platformOptions;
  const { signal, io, log, args } = input;
  if (!args.length) throw new UsageError('delete: name at least one AMI (id or name)');
  const clients = createAwsClients(platform);
  try {
    const all = await describeOwnImages(clients, [], signal);
    const targets = new Map<string, Image>();
    for (const arg of args) {
      const found = all.filter((i) => i.ImageId === arg || i.Name === arg);
      if (!found.length)
        throw new ConfigError(
          `${arg}: no AMI with that id or name in ${clients.region} owned by this account`,
        );
      for (const image of found) {
        if (!isOurs(image))
          throw new ConfigError(
            `${image.ImageId} (${image.Name}): has no ${ownerTag.key}=${ownerTag.value} tag, so ore did not make it and will not delete it`,
          );
        targets.set(image.ImageId!, image);
      }
    }
    const remaining = all.filter((i) => !targets.has(i.ImageId!));
    const usedElsewhere = new Set(remaining.flatMap(snapshotsOf));
    const namesElsewhere = new Set(remaining.filter(isOurs).map((i) => tagsOf(i).Name));

    const candidates = new Set<string>();
    for (const image of targets.values()) for (const s of snapshotsOf(image)) candidates.add(s);
    const byName = [...targets.values()].map((i) => tagsOf(i).Name).filter((n): n is string => Boolean(n));
    const named = byName.length
      ? await describeOwnSnapshots(
          clients,
          [
            { Name: 'tag:Name', Values: byName },
            { Name: `tag:${ownerTag.key}`, Values: [ownerTag.value] },
          ],
          signal,
        )
      : [];
    for (const s of named) if (!namesElsewhere.has(tagsOf(s).Name)) candidates.add(s.SnapshotId!);
    const described = candidates.size
      ? await describeOwnSnapshots(clients, [], signal, [...candidates]).catch(async () =>
          // One id may be gone already; ask one by one.
          (
            await Promise.all(
              [...candidates].map((id) => describeOwnSnapshots(clients, [], signal, [id]).catch(() => [])),
            )
          ).flat(),
        )
      : [];
    const snapshots: string[] = [];
    const kept: Array<{ id: string; reason: string }> = [];
    for (const s of described) {
      const id = s.SnapshotId!;
      if (!isOurs(s)) kept.push({ id, reason: `no ${ownerTag.key}=${ownerTag.value} tag` });
      else if (usedElsewhere.has(id)) kept.push({ id, reason: 'used by another AMI' });
      else snapshots.push(id);
    }
    const images = [...targets.keys()];
    if (!options.dryRun) {
      for (const id of images) {
        await deregisterImage(clients, id, signal);
        log.info(`deregistered ${id}`);
      }
      for (const id of snapshots) {
        // Deregistering releases the snapshot a moment later on AWS.
        await retry(() => deleteSnapshot(clients, id, signal), {
          attempts: 5,
          initialDelayMs: 2000,
          retryable: (e) => /InUse/.test(String((e as Error).message)),
          signal,
        });
        log.info(`deleted ${id}`);
      }
    }
    for (const k of kept) log.notice(`kept ${k.id}: ${k.reason}`);
    const verb = options.dryRun ? 'would delete' : 'deleted';
    io.result(
      { dryRun: options.dryRun, images, snapshots, kept },
      [...images, ...snapshots]
        .map((id) => `${verb} ${id}`)
        .concat(kept.map((k) => `kept ${k.id}: ${k.reason}`))
        .join('\n'),
    );
    return 0;
  } finally {
    clients.destroy();
  }
}
