import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSnapshotCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  ImportKeyPairCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type GcReport, Logger, runGc } from '@mantle/cluster';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../src/api/clients.js';
import { openAwsGc } from '../src/gc/index.js';
import { type Moto, motoCredentials, startMoto } from '../src/testing/moto.js';

/**
 * A generated mix in two regions (tagged/untagged, young/old, keep-until and expires-at in the
 * future, past and unparseable, in use and free), then gc as a plan (nothing goes) and with apply
 * (exactly the candidates go). moto stamps resources with the real time, so "old" is made by
 * running gc with a clock six hours ahead.
 */
const west = 'us-west-2';
const east = 'us-east-1';
const hour = 3_600_000;
const olderThanMs = 5 * hour;
const motoAmi = 'ami-03cf127a';
const publicKey =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDFJZ2DUDZ+4NcDzNVcMUKpsdH3a3Y0zNNNDKgpRMGGqTwtoZQ8m0LKQlRl3xT+Ct5vsV2H/6Vhx2R8Af8FsX6gcl5GJRZJotfDVpyq2+VUKiRCCE4UXnflRuSFAwx3czs3/Zxd4hvrZZLf6S2yOcIK0zR1y0oM+rchDMQn1x7Uc/YSqMkIy4S9zu1pc+Bo6Ry0u1Rz8WJR9qdaDuofH/7vJbVPpMqOLnjQqFeCvdlYHb/0l2WufEcLUA5B2KibQiO8tHETc03Iq2jJwUOTa7H1BijOGGTd7y9krk4KUH0b3krkOVVhOW+I+XZ1+8KEexKN7sPb5nbjIuTiHPbXFsCx test@kola';

let moto: Moto;
let home: AwsClients;
const ec2s = new Map<string, EC2Client>();
const s3s = new Map<string, S3Client>();

beforeAll(async () => {
  moto = await startMoto();
  process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
  home = createAwsClients(moto.options(), { maxAttempts: 1 });
  for (const r of [west, east]) {
    ec2s.set(r, await home.inRegion(r).ec2());
    s3s.set(r, await home.inRegion(r).s3());
  }
});
afterAll(async () => {
  home?.destroy();
  await moto?.stop();
});
beforeEach(async () => moto.reset());

const ec2 = (r: string) => ec2s.get(r)!;
const s3 = (r: string) => s3s.get(r)!;
const tagList = (tags: Record<string, string>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const mantle = { CreatedBy: 'mantle' };
const iso = (ms: number) => new Date(ms).toISOString();

async function runInstance(
  region: string,
  tags: Record<string, string>,
  extra: { subnet?: string; sg?: string; key?: string } = {},
) {
  const out = await ec2(region).send(
    new RunInstancesCommand({
      ImageId: motoAmi,
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.small',
      ...(extra.subnet ? { SubnetId: extra.subnet } : {}),
      ...(extra.sg ? { SecurityGroupIds: [extra.sg] } : {}),
      ...(extra.key ? { KeyName: extra.key } : {}),
      ...(Object.keys(tags).length
        ? { TagSpecifications: [{ ResourceType: 'instance', Tags: tagList(tags) }] }
        : {}),
    }),
  );
  return out.Instances![0]!.InstanceId!;
}

async function importKey(region: string, name: string, tags: Record<string, string>) {
  await ec2(region).send(
    new ImportKeyPairCommand({
      KeyName: name,
      PublicKeyMaterial: Buffer.from(publicKey),
      ...(Object.keys(tags).length
        ? { TagSpecifications: [{ ResourceType: 'key-pair', Tags: tagList(tags) }] }
        : {}),
    }),
  );
}

/** kola's network: VPC, subnet, gateway, route table and security group, all tagged alike. */
async function network(region: string, cidr: string, tags: Record<string, string>) {
  const c = ec2(region);
  const spec = (ResourceType: 'vpc' | 'subnet' | 'internet-gateway' | 'route-table' | 'security-group') => ({
    TagSpecifications: [{ ResourceType, Tags: tagList(tags) }],
  });
  const vpc = (await c.send(new CreateVpcCommand({ CidrBlock: `${cidr}.0.0/16`, ...spec('vpc') }))).Vpc!
    .VpcId!;
  const subnet = (
    await c.send(
      new CreateSubnetCommand({
        VpcId: vpc,
        CidrBlock: `${cidr}.0.0/20`,
        AvailabilityZone: `${region}a`,
        ...spec('subnet'),
      }),
    )
  ).Subnet!.SubnetId!;
  const igw = (await c.send(new CreateInternetGatewayCommand(spec('internet-gateway')))).InternetGateway!
    .InternetGatewayId!;
  await c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  const rt = (await c.send(new CreateRouteTableCommand({ VpcId: vpc, ...spec('route-table') }))).RouteTable!
    .RouteTableId!;
  await c.send(new AssociateRouteTableCommand({ RouteTableId: rt, SubnetId: subnet }));
  const sg = (
    await c.send(
      new CreateSecurityGroupCommand({
        GroupName: 'kola',
        Description: 'kola',
        VpcId: vpc,
        ...spec('security-group'),
      }),
    )
  ).GroupId!;
  return { vpc, subnet, igw, rt, sg };
}

/** An AMI (moto ignores RegisterImage's tags and mappings: tag afterwards; it makes its own snapshot). */
async function image(region: string, name: string, tags: Record<string, string>) {
  const id = (await ec2(region).send(new RegisterImageCommand({ Name: name, RootDeviceName: '/dev/xvda' })))
    .ImageId!;
  await ec2(region).send(new CreateTagsCommand({ Resources: [id], Tags: tagList(tags) }));
  const described = await ec2(region).send(new DescribeImagesCommand({ ImageIds: [id] }));
  const snapshot = described.Images?.[0]?.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs
    ?.SnapshotId;
  return { id, snapshot };
}

async function snapshot(region: string, tags: Record<string, string>) {
  const volume = (
    await ec2(region).send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 1 }))
  ).VolumeId!;
  return (
    await ec2(region).send(
      new CreateSnapshotCommand({
        VolumeId: volume,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
      }),
    )
  ).SnapshotId!;
}

async function bucket(
  region: string,
  name: string,
  tags: Record<string, string>,
  objects: string[],
  uploads: string[],
) {
  await s3(region).send(
    new CreateBucketCommand({
      Bucket: name,
      ...(region === 'us-east-1'
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: region as 'us-west-2' } }),
    }),
  );
  if (Object.keys(tags).length)
    await s3(region).send(
      new PutBucketTaggingCommand({
        Bucket: name,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  for (const key of objects)
    await s3(region).send(new PutObjectCommand({ Bucket: name, Key: key, Body: 'x' }));
  for (const key of uploads)
    await s3(region).send(new CreateMultipartUploadCommand({ Bucket: name, Key: key }));
}

/** Every resource id that exists now, per kind (what the assertions compare). */
async function inventory() {
  const out: Record<string, string[]> = {};
  const add = (kind: string, ids: Array<string | undefined>) => {
    out[kind] = [...(out[kind] ?? []), ...ids.filter((x): x is string => Boolean(x))].sort();
  };
  for (const r of [west, east]) {
    const c = ec2(r);
    const reservations = (
      await c.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }],
        }),
      )
    ).Reservations;
    add(
      'instance',
      (reservations ?? []).flatMap((x) => x.Instances ?? []).map((i) => i.InstanceId),
    );
    add(
      'key-pair',
      ((await c.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).map((k) => `${r}/${k.KeyName}`),
    );
    add(
      'vpc',
      ((await c.send(new DescribeVpcsCommand({}))).Vpcs ?? []).map((v) => v.VpcId),
    );
    add(
      'subnet',
      ((await c.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((v) => v.SubnetId),
    );
    add(
      'sg',
      ((await c.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []).map((v) => v.GroupId),
    );
    add(
      'igw',
      ((await c.send(new DescribeInternetGatewaysCommand({}))).InternetGateways ?? []).map(
        (v) => v.InternetGatewayId,
      ),
    );
    add(
      'rt',
      ((await c.send(new DescribeRouteTablesCommand({}))).RouteTables ?? []).map((v) => v.RouteTableId),
    );
    add(
      'image',
      ((await c.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).map((v) => v.ImageId),
    );
    add(
      'snapshot',
      ((await c.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).map(
        (v) => v.SnapshotId,
      ),
    );
  }
  const buckets = (await s3(east).send(new ListBucketsCommand({}))).Buckets ?? [];
  for (const name of buckets.map((b) => b.Name!)) {
    const region = name.includes('west') ? west : east;
    const objects = await s3(region).send(new ListObjectsV2Command({ Bucket: name }));
    add(
      'object',
      (objects.Contents ?? []).map((o) => `${name}/${o.Key}`),
    );
    const uploads = await s3(region).send(new ListMultipartUploadsCommand({ Bucket: name }));
    add(
      'upload',
      (uploads.Uploads ?? []).map((u) => `${name}/${u.Key}#${u.UploadId}`),
    );
  }
  return out;
}

/** Builds the mix; returns what gc must remove, by inventory kind. */
async function generateMix(t0: number) {
  const gcNow = t0 + 6 * hour;
  const future = iso(gcNow + 24 * hour);
  const past = iso(gcNow - hour);
  const gone: Record<string, string[]> = {};
  const expectGone = (kind: string, ...ids: Array<string | undefined>) => {
    gone[kind] = [...(gone[kind] ?? []), ...ids.filter((x): x is string => Boolean(x))];
  };

  // Networks in us-west-2: one old and used only by our leaked instance (goes with it), one young,
  // one used by an instance that is not ours, one with a keep-until.
  const leakedNet = await network(west, '10.1', { ...mantle, 'created-at': iso(t0 - 24 * hour) });
  const youngNet = await network(west, '10.2', { ...mantle, 'created-at': iso(gcNow - 10 * 60_000) });
  const busyNet = await network(west, '10.3', { ...mantle, 'created-at': iso(t0 - 24 * hour) });
  const pinnedNet = await network(west, '10.4', { ...mantle, 'created-at': iso(t0 - 24 * hour) });
  // only the VPC carries the keep-until: its pieces stay with it
  await ec2(west).send(
    new CreateTagsCommand({ Resources: [pinnedNet.vpc], Tags: tagList({ 'keep-until': future }) }),
  );
  await runInstance(west, { Name: 'not ours' }, { subnet: busyNet.subnet, sg: busyNet.sg });
  void youngNet;
  void pinnedNet;
  // moto removes an instance's interfaces the moment it is terminated, so the network of a
  // terminated leak goes in the same run here (on AWS it stays "in use" until the next run).
  const { vpc, subnet, igw, rt, sg } = leakedNet;
  expectGone('vpc', vpc);
  expectGone('subnet', subnet);
  expectGone('igw', igw);
  expectGone('rt', rt);
  expectGone('sg', sg);
  // the VPC's main route table and default security group go with it (not in the report)
  const vpcDefaults = { Filters: [{ Name: 'vpc-id', Values: [vpc] }] };
  const mainTable = (await ec2(west).send(new DescribeRouteTablesCommand(vpcDefaults))).RouteTables?.find(
    (t) => (t.Associations ?? []).some((a) => a.Main),
  );
  const defaultGroup = (
    await ec2(west).send(new DescribeSecurityGroupsCommand(vpcDefaults))
  ).SecurityGroups?.find((g) => g.GroupName === 'default');
  const withVpc = {
    rt: [mainTable?.RouteTableId ?? 'no main route table'],
    sg: [defaultGroup?.GroupId ?? 'no default group'],
  };

  // Instances in us-west-2.
  await importKey(west, 'kola-old', mantle);
  await importKey(west, 'kola-in-use', mantle);
  await importKey(west, 'kola-untagged', {});
  await importKey(west, 'my-own-key', mantle);
  expectGone('key-pair', `${west}/kola-old`);
  expectGone(
    'instance',
    await runInstance(west, { ...mantle, Name: 'leaked' }, { subnet, sg, key: 'kola-old' }),
    await runInstance(west, { ...mantle, 'keep-until': past }),
    await runInstance(west, { ...mantle, 'expires-at': past }),
  );
  const stopped = await runInstance(west, mantle);
  await ec2(west).send(new StopInstancesCommand({ InstanceIds: [stopped] }));
  expectGone('instance', stopped);
  await runInstance(west, {});
  await runInstance(west, { CreatedBy: 'someone-else' });
  await runInstance(west, { ...mantle, 'keep-until': future }, { key: 'kola-in-use' });
  await runInstance(west, { ...mantle, 'expires-at': future });
  await runInstance(west, { ...mantle, 'keep-until': 'next tuesday' });
  await runInstance(west, { ...mantle, 'expires-at': '2026-13-45' });

  // AMIs and snapshots in us-west-2: only expired ones go, and not a snapshot a kept AMI uses.
  const expiredAmi = await image(west, 'expired', { ...mantle, 'expires-at': past });
  const releaseAmi = await image(west, 'release', mantle);
  await image(west, 'later', { ...mantle, 'expires-at': future });
  expectGone('image', expiredAmi.id);
  await ec2(west).send(
    new CreateTagsCommand({
      Resources: [releaseAmi.snapshot!],
      Tags: tagList({ ...mantle, 'expires-at': past }),
    }),
  );
  expectGone('snapshot', await snapshot(west, { ...mantle, 'expires-at': past }));
  await snapshot(west, mantle);
  await snapshot(west, { ...mantle, 'expires-at': 'tomorrow' });
  await snapshot(west, { 'expires-at': past });

  // us-east-1: instances, a key, the staging bucket with leftovers; a tagged bucket in us-west-2
  // pinned by keep-until, and a bucket that is not ours.
  expectGone('instance', await runInstance(east, mantle));
  await runInstance(east, { ...mantle, 'keep-until': future });
  await importKey(east, 'kola-old', mantle);
  expectGone('key-pair', `${east}/kola-old`);
  await bucket(east, 'kola-east-staging', mantle, ['a/disk.vmdk', 'b/disk.raw'], ['c/disk.vmdk']);
  await bucket(west, 'kola-west-kept', { ...mantle, 'keep-until': future }, ['x.raw'], ['y.raw']);
  await bucket(east, 'someone-elses', { team: 'other' }, ['z.raw'], ['w.raw']);
  expectGone('object', 'kola-east-staging/a/disk.vmdk', 'kola-east-staging/b/disk.raw');
  const uploads = await s3(east).send(new ListMultipartUploadsCommand({ Bucket: 'kola-east-staging' }));
  expectGone('upload', `kola-east-staging/c/disk.vmdk#${uploads.Uploads?.[0]?.UploadId}`);
  return { gcNow: new Date(gcNow), gone, withVpc };
}

async function gc(apply: boolean, now: Date, threshold = olderThanMs): Promise<GcReport> {
  const signal = new AbortController().signal;
  const log = new Logger([]);
  const session = await openAwsGc(moto.options(), {
    log,
    signal,
    locations: [west, east],
    allLocations: false,
  });
  try {
    return await runGc({
      kinds: session.kinds,
      ownerTag: session.ownerTag,
      locations: session.locations,
      apply,
      olderThanMs: threshold,
      signal,
      log,
      now,
    });
  } finally {
    await session.close?.();
  }
}

function without(all: Record<string, string[]>, gone: Record<string, string[]>) {
  const out: Record<string, string[]> = {};
  for (const [kind, ids] of Object.entries(all))
    out[kind] = ids.filter((id) => !(gone[kind] ?? []).includes(id));
  return out;
}

describe('aws gc', () => {
  it('a plan removes nothing and says why it keeps; --apply removes exactly the candidates in both regions', async () => {
    const t0 = Date.now();
    const { gcNow, gone, withVpc } = await generateMix(t0);
    const before = await inventory();
    for (const [kind, ids] of Object.entries(gone))
      for (const id of ids) expect(before[kind], kind).toContain(id);

    const plan = await gc(false, gcNow);
    expect(plan.listingErrors).toEqual([]);
    expect(await inventory()).toEqual(before);
    expect(plan.counts.removed).toBe(0);
    const planned = plan.results.filter((r) => r.action === 'would-remove');
    const expectedCount = Object.values(gone).reduce((n, ids) => n + ids.length, 0);
    expect(planned.map((r) => `${r.resource.kind} ${r.resource.id}`)).toHaveLength(expectedCount);

    // every kept resource says why
    const reasons = plan.results
      .filter((r) => r.action === 'kept')
      .map((r) => `${r.resource.kind}: ${r.reason}`);
    const expectReason = (pattern: RegExp) =>
      expect(
        reasons.some((r) => pattern.test(r)),
        String(pattern),
      ).toBe(true);
    expectReason(/^aws\.instance: keep-until /);
    expectReason(/^aws\.instance: expires at /);
    expectReason(/^aws\.instance: keep-until tag "next tuesday" is not an RFC 3339 date/);
    expectReason(/^aws\.instance: expires-at tag "2026-13-45" is not an RFC 3339 date/);
    expectReason(/^aws\.key-pair: used by i-\w+, which stays/);
    expectReason(/^aws\.key-pair: not a kola key pair/);
    expectReason(/^aws\.security-group: in use by i-\w+ \(eni-\w+\)/);
    expectReason(/^aws\.security-group: created \d+m ago \(younger than 300m\)/);
    expectReason(/^aws\.security-group: its VPC vpc-\w+ stays \(keep-until /);
    expectReason(/^aws\.vpc: keep-until /);
    expectReason(/^aws\.vpc: in use by i-/);
    expectReason(/^aws\.subnet: in use by i-/);
    expectReason(/^aws\.internet-gateway: its VPC vpc-\w+ stays \(in use by i-/);
    expectReason(/^aws\.route-table: its VPC vpc-\w+ stays \(keep-until /);
    expectReason(/^aws\.image: no expires-at tag/);
    expectReason(/^aws\.image: expires at /);
    expectReason(/^aws\.snapshot: used by ami-\w+, which stays/);
    expectReason(/^aws\.snapshot: expires-at tag "tomorrow" is not an RFC 3339 date/);
    expectReason(/^aws\.s3-object: keep-until /);
    expectReason(/^aws\.multipart-upload: keep-until /);
    // with a one-day threshold every instance is young and kept for its age ...
    const young = await gc(false, gcNow, 24 * hour);
    expect(
      young.results.find(
        (r) =>
          r.resource.kind === 'aws.instance' &&
          r.action === 'kept' &&
          /^younger than 24h0m \(age \d+h\d+m\)/.test(r.reason),
      ),
    ).toBeDefined();
    // ... while an expired expires-at makes one a candidate whatever its age
    const expired = young.results.filter(
      (r) => r.resource.kind === 'aws.instance' && r.action === 'would-remove',
    );
    expect(expired.map((r) => r.resource.tags['expires-at'])).toEqual([expect.any(String)]);

    const applied = await gc(true, gcNow);
    expect(applied.listingErrors).toEqual([]);
    expect(applied.results.filter((r) => r.action === 'failed')).toEqual([]);
    expect(applied.counts.removed).toBe(expectedCount);
    expect(await inventory()).toEqual(without(without(before, gone), withVpc));
  });

  it('reports the account, the regions, and every enabled region with --all-regions', async () => {
    const signal = new AbortController().signal;
    const log = new Logger([]);
    const session = await openAwsGc(moto.options(), { log, signal, locations: [], allLocations: false });
    expect(session.identity.account).toMatch(/^\d{12}$/);
    expect(session.identity.arn).toMatch(/^arn:aws:/);
    expect(session.locations).toEqual([west]);
    await session.close?.();
    const all = await openAwsGc(moto.options(), { log, signal, locations: [], allLocations: true });
    expect(all.locations).toContain('eu-west-1');
    expect(all.locations.length).toBeGreaterThan(10);
    await all.close?.();
    await expect(
      openAwsGc(moto.options(), { log, signal, locations: ['mars'], allLocations: false }),
    ).rejects.toThrow(/--region "mars"/);
  });

  it('terminates 200 leaked instances with one list and one terminate request', async () => {
    for (let i = 0; i < 4; i++)
      await ec2(west).send(
        new RunInstancesCommand({
          ImageId: motoAmi,
          MinCount: 50,
          MaxCount: 50,
          TagSpecifications: [{ ResourceType: 'instance', Tags: tagList(mantle) }],
        }),
      );
    const before = moto.requestCounts();
    const report = await gc(true, new Date(Date.now() + 6 * hour));
    const after = moto.requestCounts();
    const delta = (action: string) => (after.get(action) ?? 0) - (before.get(action) ?? 0);
    expect(
      report.results.filter((r) => r.resource.kind === 'aws.instance' && r.action === 'removed'),
    ).toHaveLength(200);
    // one per region asked for (the east one is empty)
    expect(delta('ec2:DescribeInstances')).toBe(2);
    expect(delta('ec2:TerminateInstances')).toBe(1);
    expect((await inventory()).instance).toEqual([]);
  });

  it('ore aws gc: plan (--json) in two regions, then --apply, with the test clock', async () => {
    const future = iso(Date.now() + 30 * hour);
    const leaked = [await runInstance(west, mantle), await runInstance(east, mantle)];
    const kept = [
      await runInstance(west, {}),
      await runInstance(west, { ...mantle, 'keep-until': future }),
      await runInstance(east, { ...mantle, 'expires-at': future }),
    ];
    const ore = fileURLToPath(new URL('../../ore/test/support/ore.mjs', import.meta.url));
    // async: the moto stand-in answers from this process
    const gcProcess = (...extra: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [ore, 'aws', 'gc', '--aws-endpoint', moto.endpoint, '--region', west, '--region', east, ...extra],
          { env: { ...process.env, ...moto.env(), ORE_TEST_NOW: iso(Date.now() + 6 * hour) } },
          (error, stdout, stderr) =>
            resolve({
              code: error ? Number(error.code ?? 1) : 0,
              stdout: String(stdout),
              stderr: String(stderr),
            }),
        ),
      );
    const all = [...leaked, ...kept].sort();
    const plan = await gcProcess('--json');
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    const planned = JSON.parse(plan.stdout) as { identity: { account: string }; report: GcReport };
    expect(planned.identity.account).toMatch(/^\d{12}$/);
    expect(planned.report.locations).toEqual([west, east]);
    const instanceIds = (report: GcReport, action: string) =>
      report.results
        .filter((r) => r.resource.kind === 'aws.instance' && r.action === action)
        .map((r) => r.resource.id)
        .sort();
    expect(instanceIds(planned.report, 'would-remove')).toEqual([...leaked].sort());
    expect((await inventory()).instance).toEqual(all);

    const applied = await gcProcess('--apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^aws: account \d{12}, arn arn:aws:/);
    for (const id of leaked) expect(applied.stdout).toMatch(new RegExp(`removed .*${id}`));
    expect((await inventory()).instance).toEqual([...kept].sort());
  });
});
