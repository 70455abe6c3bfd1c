import { join } from 'node:path';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AwsClients } from '../src/api/clients.js';
import type { Moto } from '../src/testing/moto.js';
import { pattern, runVerb, sparseImage, useMotoPerFile } from './ore-verbs.js';

let moto: Moto;
let clients: AwsClients;
let dir: string;

const fixture = useMotoPerFile('ore-images-');
beforeEach(() => {
  ({ moto, clients, dir } = fixture);
});

const tagMap = (tags?: Array<{ Key?: string; Value?: string }>) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

async function upload(name: string, extra: Record<string, unknown> = {}) {
  const path = join(dir, `${name}.raw`);
  sparseImage(path, 2 * 1024 * 1024, [{ offset: 0, data: pattern(4096, name.length) }]);
  const run = await runVerb(moto, 'upload', { file: path, name, ...extra });
  if (run.error) throw run.error;
  return run.results[0] as { ami: string; snapshot: string };
}

/** An AMI and snapshot someone made by hand: no CreatedBy tag. */
async function foreignImage(name: string) {
  const ec2 = await clients.ec2();
  const vol = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-west-2a', Size: 1 }));
  const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol.VolumeId }));
  await ec2.send(
    new CreateTagsCommand({ Resources: [snap.SnapshotId!], Tags: [{ Key: 'Name', Value: name }] }),
  );
  const img = await ec2.send(new RegisterImageCommand({ Name: name, RootDeviceName: '/dev/xvda' }));
  return { ami: img.ImageId!, snapshot: snap.SnapshotId! };
}

describe('ore aws list', () => {
  it('lists only the AMIs and snapshots ore made, with their expiry', async () => {
    const mine = await upload('listed-image', { expiresAt: '2099-01-02T03:04:05Z' });
    const theirs = await foreignImage('hand-made');
    const run = await runVerb(moto, 'list', {});
    expect(run.code).toBe(0);
    const out = run.results[0] as {
      region: string;
      images: Array<{ id: string; name: string; expiresAt?: string; created?: string }>;
      snapshots: Array<{ id: string; name: string; expiresAt?: string }>;
    };
    expect(out.region).toBe('us-west-2');
    expect(out.images.map((i) => [i.id, i.name, i.expiresAt])).toEqual([
      [mine.ami, 'listed-image', '2099-01-02T03:04:05Z'],
    ]);
    expect(out.images[0]?.created).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(out.snapshots.map((s) => [s.id, s.name, s.expiresAt])).toEqual([
      [mine.snapshot, 'listed-image', '2099-01-02T03:04:05Z'],
    ]);
    expect(JSON.stringify(out)).not.toContain(theirs.ami);
    expect(run.text[0]).toContain(mine.ami);
  });
});

describe('ore aws delete', () => {
  it('deregisters an AMI by name and deletes its snapshot', async () => {
    const mine = await upload('doomed-image');
    const keep = await upload('kept-image');
    const dry = await runVerb(moto, 'delete', { dryRun: true }, ['doomed-image']);
    expect(dry.results[0]).toMatchObject({ dryRun: true, images: [mine.ami], snapshots: [mine.snapshot] });
    const run = await runVerb(moto, 'delete', {}, ['doomed-image']);
    expect(run.error).toBeUndefined();
    expect(run.results[0]).toMatchObject({ images: [mine.ami], snapshots: [mine.snapshot] });
    const ec2 = await clients.ec2();
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(images.map((i) => i.ImageId)).toEqual([keep.ami]);
    const snaps = (
      await ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: 'tag:CreatedBy', Values: ['mantle'] }],
        }),
      )
    ).Snapshots;
    expect(snaps?.map((s) => s.SnapshotId)).toEqual([keep.snapshot]);
  });

  it('refuses an AMI ore did not make, and deletes nothing when one of several names is refused', async () => {
    const mine = await upload('mine-image');
    const theirs = await foreignImage('theirs-image');
    const run = await runVerb(moto, 'delete', {}, [mine.ami, theirs.ami]);
    expect(run.code).toBe(2);
    expect(run.error?.message).toMatch(/ore did not make it/);
    const missing = await runVerb(moto, 'delete', {}, ['no-such-image']);
    expect(missing.code).toBe(2);
    const ec2 = await clients.ec2();
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(images.map((i) => i.ImageId).sort()).toEqual([mine.ami, theirs.ami].sort());
  });
});

describe('ore aws copy-image', () => {
  it('copies the AMI with its tags, snapshot tags and launch permissions into each region', async () => {
    const src = await upload('copied-image', { grantUser: ['111122223333'], tags: 'team=os' });
    // moto's RegisterImage ignores BlockDeviceMappings and gives the AMI a snapshot of its own; tag
    // that one as upload tags the real root snapshot on AWS, so the copy has snapshot tags to carry.
    const srcEc2 = await clients.ec2();
    const [srcImage] = (await srcEc2.send(new DescribeImagesCommand({ ImageIds: [src.ami] }))).Images ?? [];
    const srcRoot = srcImage?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    await srcEc2.send(
      new CreateTagsCommand({
        Resources: [srcRoot!],
        Tags: [
          { Key: 'Name', Value: 'copied-image' },
          { Key: 'team', Value: 'os' },
        ],
      }),
    );
    const run = await runVerb(moto, 'copy-image', { image: src.ami, pollInterval: '0.05s' }, [
      'us-east-1',
      'eu-west-1',
    ]);
    expect(run.error).toBeUndefined();
    const out = run.results[0] as Record<string, { ami: string; snapshot: string }>;
    expect(Object.keys(out).sort()).toEqual(['eu-west-1', 'us-east-1']);
    for (const region of ['us-east-1', 'eu-west-1']) {
      const ec2 = await clients.inRegion(region).ec2();
      const [img] =
        (await ec2.send(new DescribeImagesCommand({ ImageIds: [out[region]!.ami] }))).Images ?? [];
      expect(img?.Name).toBe('copied-image');
      expect(tagMap(img?.Tags)).toMatchObject({ CreatedBy: 'mantle', Name: 'copied-image', team: 'os' });
      const [snap] =
        (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [out[region]!.snapshot] }))).Snapshots ??
        [];
      expect(tagMap(snap?.Tags)).toMatchObject({ CreatedBy: 'mantle', Name: 'copied-image', team: 'os' });
      const perms = await ec2.send(
        new DescribeImageAttributeCommand({ ImageId: out[region]!.ami, Attribute: 'launchPermission' }),
      );
      expect(perms.LaunchPermissions?.map((p) => p.UserId)).toEqual(['111122223333']);
    }
    // A second run finds the copies and makes no new ones.
    const again = await runVerb(moto, 'copy-image', { image: 'copied-image', pollInterval: '0.05s' }, [
      'us-east-1',
    ]);
    expect((again.results[0] as typeof out)['us-east-1']?.ami).toBe(out['us-east-1']?.ami);
  });

  it('refuses a bad region or the source region before copying anything', async () => {
    const src = await upload('src-image');
    for (const args of [['nowhere'], ['us-west-2']]) {
      const run = await runVerb(moto, 'copy-image', { image: src.ami }, args);
      expect(run.code).toBe(2);
    }
    expect(moto.requestCounts().get('ec2:CopyImage') ?? 0).toBe(0);
  });
});
