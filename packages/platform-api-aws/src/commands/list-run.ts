import { expiresAtTag } from '@mantle/cluster';
import { createAwsClients } from '../api/clients.js';
import { describeOwnImages, describeOwnSnapshots, tagsOf } from '../api/images.js';
import { ownerTag } from '../tags.js';
import type { AwsVerbInput, listOptions } from './schemas.js';

const iso = (d: Date | string | undefined) =>
  d === undefined ? undefined : (typeof d === 'string' ? d : d.toISOString()).replace(/\.\d{3}Z$/, 'Z');

/** `ore aws list`: the AMIs and snapshots in the region that carry CreatedBy=mantle. */
export async function runList(input: AwsVerbInput<typeof listOptions>): Promise<number> {
  const platform = input.platformOptions;
  const { signal, io } = input;
  const clients = createAwsClients(platform);
  try {
    const owned = [{ Name: `tag:${ownerTag.key}`, Values: [ownerTag.value] }];
    const [images, snapshots] = await Promise.all([
      describeOwnImages(clients, owned, signal),
      describeOwnSnapshots(clients, owned, signal),
    ]);
    const imageRows = images
      .map((i) => {
        const tags = tagsOf(i);
        return {
          id: i.ImageId ?? '',
          name: i.Name ?? '',
          created: iso(i.CreationDate),
          expiresAt: tags[expiresAtTag],
          state: i.State,
          snapshots: (i.BlockDeviceMappings ?? []).flatMap((m) =>
            m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
          ),
        };
      })
      .sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || a.name.localeCompare(b.name));
    const snapshotRows = snapshots
      .map((s) => {
        const tags = tagsOf(s);
        return {
          id: s.SnapshotId ?? '',
          name: tags.Name ?? '',
          created: iso(s.StartTime),
          expiresAt: tags[expiresAtTag],
          state: s.State,
          sizeGib: s.VolumeSize,
        };
      })
      .sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || a.name.localeCompare(b.name));
    const line = (cols: Array<string | number | undefined>) => cols.map((c) => c ?? '-').join('\t');
    const text = [
      `AMIs in ${clients.region} made by ore: ${imageRows.length}`,
      ...imageRows.map((r) => line([r.id, r.name, r.created, r.expiresAt ?? 'never', r.state])),
      `snapshots in ${clients.region} made by ore: ${snapshotRows.length}`,
      ...snapshotRows.map((r) =>
        line([r.id, r.name, r.created, r.expiresAt ?? 'never', r.state, `${r.sizeGib}GiB`]),
      ),
    ].join('\n');
    io.result({ region: clients.region, images: imageRows, snapshots: snapshotRows }, text);
    return 0;
  } finally {
    clients.destroy();
  }
}
