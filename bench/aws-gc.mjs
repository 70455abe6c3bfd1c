#!/usr/bin/env node
// Requests and wall time of `ore aws gc` per resource kind against moto: 1000 leaked instances
// (tagged CreatedBy=mantle, launched in batches) plus some of every other kind, then the plan and
// the apply in-process (openAwsGc + runGc, a clock 6 h ahead because moto stamps the real time).
// Goals: instances ≤ 2 EC2 requests for 1000; other kinds ≤ 1 list request per 1000 plus deletes.
// Prints figures only. Run `node scripts/build.mjs` first (imports dist).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const { startMoto, motoCredentials } = await load('packages/platform-api-aws/dist/testing/moto.js');
const { openAwsGc } = await load('packages/platform-api-aws/dist/gc/index.js');
const { createAwsClients } = await load('packages/platform-api-aws/dist/api/clients.js');
const { runGc, orderKinds, silentLogger } = await load('packages/cluster/dist/index.js');
// the SDK as the aws package resolves it
const requireAws = createRequire(join(root, 'packages/platform-api-aws/package.json'));
const ec2sdk = requireAws('@aws-sdk/client-ec2');
const s3sdk = requireAws('@aws-sdk/client-s3');

const instances = Number(process.env.INSTANCES ?? 1000);
const others = Number(process.env.OTHERS ?? 20);
const objects = Number(process.env.OBJECTS ?? 1000);
const region = 'us-west-2';
const hour = 3_600_000;
const mantle = [{ Key: 'CreatedBy', Value: 'mantle' }];
const expired = [...mantle, { Key: 'expires-at', Value: new Date(Date.now() - hour).toISOString() }];

process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
const moto = await startMoto();
try {
  const clients = createAwsClients(moto.options(), { maxAttempts: 1 });
  const ec2 = await clients.ec2();
  const s3 = await clients.s3();
  const t0 = performance.now();
  for (let left = instances; left > 0; left -= 100) {
    const n = Math.min(100, left);
    await ec2.send(
      new ec2sdk.RunInstancesCommand({
        ImageId: 'ami-03cf127a',
        MinCount: n,
        MaxCount: n,
        TagSpecifications: [{ ResourceType: 'instance', Tags: mantle }],
      }),
    );
  }
  const pub =
    'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDFJZ2DUDZ+4NcDzNVcMUKpsdH3a3Y0zNNNDKgpRMGGqTwtoZQ8m0LKQlRl3xT+Ct5vsV2H/6Vhx2R8Af8FsX6gcl5GJRZJotfDVpyq2+VUKiRCCE4UXnflRuSFAwx3czs3/Zxd4hvrZZLf6S2yOcIK0zR1y0oM+rchDMQn1x7Uc/YSqMkIy4S9zu1pc+Bo6Ry0u1Rz8WJR9qdaDuofH/7vJbVPpMqOLnjQqFeCvdlYHb/0l2WufEcLUA5B2KibQiO8tHETc03Iq2jJwUOTa7H1BijOGGTd7y9krk4KUH0b3krkOVVhOW+I+XZ1+8KEexKN7sPb5nbjIuTiHPbXFsCx bench';
  for (let i = 0; i < others; i++) {
    await ec2.send(
      new ec2sdk.ImportKeyPairCommand({
        KeyName: `kola-bench-${i}`,
        PublicKeyMaterial: Buffer.from(pub),
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: mantle }],
      }),
    );
    const image = await ec2.send(new ec2sdk.RegisterImageCommand({ Name: `bench-${i}` }));
    await ec2.send(new ec2sdk.CreateTagsCommand({ Resources: [image.ImageId], Tags: expired }));
    const volume = await ec2.send(
      new ec2sdk.CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 1 }),
    );
    await ec2.send(
      new ec2sdk.CreateSnapshotCommand({
        VolumeId: volume.VolumeId,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: expired }],
      }),
    );
  }
  // one leaked kola network, old
  const net = [...mantle, { Key: 'created-at', Value: new Date(Date.now() - 24 * hour).toISOString() }];
  const spec = (ResourceType) => ({ TagSpecifications: [{ ResourceType, Tags: net }] });
  const vpc = (await ec2.send(new ec2sdk.CreateVpcCommand({ CidrBlock: '10.9.0.0/16', ...spec('vpc') }))).Vpc
    .VpcId;
  for (let i = 0; i < 3; i++)
    await ec2.send(
      new ec2sdk.CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.9.${i * 16}.0/20`, ...spec('subnet') }),
    );
  const igw = (await ec2.send(new ec2sdk.CreateInternetGatewayCommand(spec('internet-gateway'))))
    .InternetGateway.InternetGatewayId;
  await ec2.send(new ec2sdk.AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  await ec2.send(new ec2sdk.CreateRouteTableCommand({ VpcId: vpc, ...spec('route-table') }));
  await ec2.send(
    new ec2sdk.CreateSecurityGroupCommand({
      GroupName: 'kola',
      Description: 'kola',
      VpcId: vpc,
      ...spec('security-group'),
    }),
  );
  await s3.send(
    new s3sdk.CreateBucketCommand({
      Bucket: 'kola-bench',
      CreateBucketConfiguration: { LocationConstraint: region },
    }),
  );
  await s3.send(new s3sdk.PutBucketTaggingCommand({ Bucket: 'kola-bench', Tagging: { TagSet: mantle } }));
  for (let i = 0; i < objects; i += 50)
    await Promise.all(
      Array.from({ length: Math.min(50, objects - i) }, (_, j) =>
        s3.send(
          new s3sdk.PutObjectCommand({ Bucket: 'kola-bench', Key: `leftover/${i + j}.raw`, Body: 'x' }),
        ),
      ),
    );
  for (let i = 0; i < others; i++)
    await s3.send(new s3sdk.CreateMultipartUploadCommand({ Bucket: 'kola-bench', Key: `upload/${i}.vmdk` }));
  console.log(
    `setup: ${instances} instances, ${others} key pairs/AMIs/snapshots/uploads, 1 network, ${objects} S3 objects in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  for (const apply of [false, true]) {
    const signal = new AbortController().signal;
    const log = silentLogger();
    const session = await openAwsGc(moto.options(), {
      log,
      signal,
      locations: [region],
      allLocations: false,
    });
    // Kinds run one after another (list, then removals), so the requests and time between the
    // start of one kind's listing and the next one's belong to that kind.
    const marks = [];
    const kinds = orderKinds(session.kinds).map((kind) => ({
      ...kind,
      async *list(ctx) {
        marks.push({ kind: kind.kind, at: performance.now(), counts: moto.requestCounts() });
        yield* kind.list(ctx);
      },
    }));
    const start = performance.now();
    const report = await runGc({
      kinds,
      ownerTag: session.ownerTag,
      locations: session.locations,
      apply,
      olderThanMs: 5 * hour,
      signal,
      log,
      now: new Date(Date.now() + 6 * hour),
    });
    const end = { at: performance.now(), counts: moto.requestCounts() };
    await session.close?.();
    console.log(
      `\n${apply ? 'apply' : 'plan'}: ${((end.at - start) / 1000).toFixed(2)} s; ${JSON.stringify(report.counts)}; listing errors ${report.listingErrors.length}`,
    );
    console.log(`${'kind'.padEnd(22)} ${'resources'.padStart(9)} ${'ms'.padStart(7)}  requests`);
    marks.forEach((m, i) => {
      const next = marks[i + 1] ?? end;
      const requests = [...next.counts]
        .map(([action, n]) => [action, n - (m.counts.get(action) ?? 0)])
        .filter(([, n]) => n > 0)
        .map(([action, n]) => `${action} ${n}`)
        .join(', ');
      const resources = report.results.filter((r) => r.resource.kind === m.kind).length;
      console.log(
        `${m.kind.padEnd(22)} ${String(resources).padStart(9)} ${(next.at - m.at).toFixed(0).padStart(7)}  ${requests || '-'}`,
      );
    });
  }
  console.log(
    '\ngoals: aws.instance ≤ 2 EC2 requests for 1000 (1 DescribeInstances + 1 TerminateInstances);' +
      ' other kinds ≤ 1 list request per 1000 plus their deletes (the network kinds share one survey' +
      ' of 7 list requests per region, counted under the first, aws.security-group; S3 bucket discovery' +
      ' (ListBuckets + GetBucketTagging per bucket) under aws.s3-object)',
  );
  clients.destroy();
} finally {
  await moto.stop();
}
