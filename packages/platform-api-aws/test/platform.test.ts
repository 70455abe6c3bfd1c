import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  type EC2Client,
  ImportKeyPairCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { ConfigError, RollbackError, UserData } from '@mantle/cluster';
import { createTestContext, type TestContext } from '@mantle/cluster/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsProperties } from '../src/ami.js';
import { type AwsClients, createAwsClients, defaultMaxAttempts } from '../src/api/clients.js';
import { consoleSeparator, mergeConsole } from '../src/console-merge.js';
import { AwsFlight, destroyAwsLedgerEntry } from '../src/flight.js';
import { findOrCreateNetwork } from '../src/network.js';
import type { AwsOptions } from '../src/options.js';
import { type Moto, motoCredentials, startMoto } from '../src/testing/moto.js';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.js';
import { createSshRouter, liveKolaResources, type SshRouter } from './support/ssh-router.js';

const fastTuning = { pollIntervalMs: 100, consoleSettleMs: 300, consolePollMs: 100 };

let moto: Moto;
let clients: AwsClients;
let ec2: EC2Client;
let router: SshRouter;
let ctx: TestContext;
let amiId: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
  moto = await startMoto();
  clients = createAwsClients(moto.options(), { maxAttempts: 1 });
  ec2 = await clients.ec2();
});
afterAll(async () => {
  clients?.destroy();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  amiId = (await ec2.send(new RegisterImageCommand({ Name: 'kola-test-image' }))).ImageId!;
  router = createSshRouter({ endpoint: moto.endpoint });
  ctx = Object.assign(createTestContext({ sshTimeoutMs: 15_000 }), { dialer: router.dialer });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await router.close();
  await ctx.dispose();
});

function options(extra: Partial<AwsOptions> = {}): AwsOptions {
  return moto.options({ ami: amiId, ...extra });
}

async function flight(opts = options(), context: TestContext = ctx): Promise<AwsFlight> {
  const f = await AwsFlight.create(opts, context, fastTuning);
  cleanups.push(() => f.destroy());
  return f;
}

const tagsOf = (tags: Array<{ Key?: string; Value?: string }> | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

describe('the flight', () => {
  it('creates mantle’s network once, tagged CreatedBy=mantle, and a key pair that destroy deletes', async () => {
    const f = await flight();
    const vpcs = (
      await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:CreatedBy', Values: ['mantle'] }] }))
    ).Vpcs!;
    expect(vpcs.map((v) => v.CidrBlock)).toEqual(['172.31.0.0/16']);
    const vpcId = vpcs[0]!.VpcId!;
    expect(tagsOf(vpcs[0]!.Tags)['created-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
    for (const Attribute of ['enableDnsSupport', 'enableDnsHostnames'] as const) {
      const a = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute }));
      expect(a.EnableDnsSupport?.Value ?? a.EnableDnsHostnames?.Value).toBe(true);
    }
    const igws = (
      await ec2.send(
        new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpcId] }] }),
      )
    ).InternetGateways!;
    expect(igws).toHaveLength(1);
    expect(tagsOf(igws[0]!.Tags).CreatedBy).toBe('mantle');
    const tables = (
      await ec2.send(
        new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:CreatedBy', Values: ['mantle'] }] }),
      )
    ).RouteTables!;
    expect(tables).toHaveLength(1);
    expect(tables[0]!.Routes).toContainEqual(
      expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', GatewayId: igws[0]!.InternetGatewayId }),
    );
    const subnets = (
      await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
    ).Subnets!;
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    expect(new Set(subnets.map((s) => s.AvailabilityZone)).size).toBe(subnets.length);
    for (const s of subnets) {
      expect(s.CidrBlock).toMatch(/^172\.31\.\d+\.0\/20$/);
      expect(s.MapPublicIpOnLaunch).toBe(true);
      expect(tagsOf(s.Tags).CreatedBy).toBe('mantle');
    }
    const groups = (
      await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['kola'] }] }),
      )
    ).SecurityGroups!;
    expect(groups).toHaveLength(1);
    const sg = groups[0]!;
    expect(sg.Description).toBe('mantle security group for testing');
    expect(tagsOf(sg.Tags).CreatedBy).toBe('mantle');
    const rules = sg.IpPermissions!.map((p) => ({
      proto: p.IpProtocol,
      from: p.FromPort,
      to: p.ToPort,
      cidr: p.IpRanges?.[0]?.CidrIp,
      group: p.UserIdGroupPairs?.[0]?.GroupId,
    }));
    expect(rules).toEqual(
      expect.arrayContaining([
        { proto: 'tcp', from: 22, to: 22, cidr: '0.0.0.0/0', group: undefined },
        { proto: 'tcp', from: 1, to: 65535, cidr: undefined, group: sg.GroupId },
        { proto: 'udp', from: 1, to: 65535, cidr: undefined, group: sg.GroupId },
        { proto: 'icmp', from: -1, to: -1, cidr: undefined, group: sg.GroupId },
      ]),
    );

    // the flight's key, as key pair kola-<flight>, tagged
    const keys = (await ec2.send(new DescribeKeyPairsCommand({ IncludePublicKey: true }))).KeyPairs!;
    expect(keys.map((k) => k.KeyName)).toEqual([f.keyName]);
    expect(f.keyName).toMatch(/^kola-/);
    expect(keys[0]!.PublicKey?.trim()).toBe(ctx.ssh.publicKey);
    expect(tagsOf(keys[0]!.Tags)).toMatchObject({ CreatedBy: 'mantle', 'kola-run': ctx.runId });

    // a second flight reuses the network
    const otherCtx = createTestContext();
    cleanups.push(() => otherCtx.dispose());
    const second = await flight(options(), otherCtx);
    expect(second.network.securityGroupId).toBe(sg.GroupId);
    const ours = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.filter(
      (v) => tagsOf(v.Tags).CreatedBy === 'mantle',
    );
    expect(ours).toHaveLength(1);

    await f.destroy();
    await second.destroy();
    expect(await liveKolaResources(ec2)).toEqual([]);
    expect(ctx.ledger.alive()).toEqual([]);
  });

  it('two runs creating the network at the same moment leave one', async () => {
    const input = () => ({
      ec2,
      name: 'kola',
      tags: [{ Key: 'CreatedBy', Value: 'mantle' }],
      log: ctx.log,
      signal: ctx.signal,
    });
    const [a, b] = await Promise.all([findOrCreateNetwork(input()), findOrCreateNetwork(input())]);
    expect(a.securityGroupId).toBe(b.securityGroupId);
    const groups = (
      await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['kola'] }] }),
      )
    ).SecurityGroups!;
    expect(groups).toHaveLength(1);
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.filter(
      (v) => v.CidrBlock === '172.31.0.0/16',
    );
    // moto's default VPC also uses 172.31.0.0/16: count ours by tag
    expect(vpcs.filter((v) => tagsOf(v.Tags).CreatedBy === 'mantle')).toHaveLength(1);
  });

  it('resolves --aws-ami by name, and bad AMIs are one ConfigError with nothing created', async () => {
    const byName = options({ ami: 'kola-test-image' });
    const f = await flight(byName);
    expect(f.ami.amiId).toBe(amiId);
    expect({ ...awsProperties(byName), ...f.properties() }).toMatchObject({
      region: 'us-west-2',
      ami: amiId,
      amiName: 'kola-test-image',
      type: 't3.small',
    });

    await moto.reset();
    const missing = AwsFlight.create(options({ ami: undefined }), ctx, fastTuning);
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(AwsFlight.create(options({ ami: undefined }), ctx)).rejects.toThrow('--aws-ami is required');
    await expect(AwsFlight.create(options({ ami: 'no-such-image' }), ctx)).rejects.toThrow(
      '--aws-ami no-such-image: no AMI named "no-such-image" in us-west-2',
    );
    expect(await liveKolaResources(ec2)).toEqual([]);
    expect(
      (
        await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['kola'] }] }),
        )
      ).SecurityGroups,
    ).toEqual([]);
  });
});

describe('machines', () => {
  it('launch tagged, with the key pair and userdata (EC2 variables), and destroy saves merged console', async () => {
    const f = await flight();
    const cluster = await f.newCluster({ outputDir: join(ctx.outputDir, 'm'), test: 'aws.tags' });
    const userData = UserData.cloudConfig(
      '#cloud-config\nwrite_files:\n  - path: /etc/ip\n    content: "$public_ipv4 $private_ipv4"\n',
    );
    const m = await cluster.newMachine(userData);
    expect(m.id).toMatch(/^i-/);
    const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [m.id] })))
      .Reservations![0]!.Instances![0]!;
    expect(m.ip).toBe(described.PublicIpAddress);
    expect(m.privateIp).toBe(described.PrivateIpAddress);
    expect(described.KeyName).toBe(f.keyName);
    expect(described.ImageId).toBe(amiId);
    expect(described.SecurityGroups?.[0]?.GroupId).toBe(f.network.securityGroupId);
    expect(tagsOf(described.Tags)).toEqual({
      Name: cluster.name,
      CreatedBy: 'mantle',
      'kola-run': ctx.runId,
      'kola-test': 'aws.tags',
    });
    const attr = await ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: m.id, Attribute: 'userData' }),
    );
    const sent = Buffer.from(attr.UserData!.Value!, 'base64').toString();
    const ec2Var = (name: string) => `\${${name}}`;
    expect(sent).toContain(`${ec2Var('COREOS_EC2_IPV4_PUBLIC')} ${ec2Var('COREOS_EC2_IPV4_LOCAL')}`);
    expect(sent).toContain(ctx.ssh.publicKey);
    expect((await m.ssh('echo hi')).stdout).toBe('hi\n');
    expect(router.machine(m.id)?.keys).toContain(ctx.ssh.publicKey);

    const ledgerKey = ctx.ledger.alive().find((e) => e.kind === 'instance')!;
    expect(ledgerKey).toMatchObject({ platform: 'aws', id: m.id, location: 'us-west-2', test: 'aws.tags' });
    await cluster.destroy();
    const state = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [m.id] }))).Reservations![0]!
      .Instances![0]!.State?.Name;
    expect(state).toBe('terminated');
    const consoleText = readFileSync(join(m.outputDir, 'console.txt'), 'utf8');
    expect(consoleText).toMatch(/\S/);
    expect(await m.consoleOutput()).toBe(consoleText);
    expect(ctx.ledger.alive().map((e) => e.kind)).toEqual(['key-pair']);
  });

  it('without keys in userdata, the key pair alone lets kola in', async () => {
    const f = await flight();
    const cluster = await f.newCluster({ outputDir: join(ctx.outputDir, 'k'), noSshKeyInUserData: true });
    const m = await cluster.newMachine();
    expect((await m.ssh('echo in')).stdout).toBe('in\n');
    expect(router.machine(m.id)?.keys).toEqual([ctx.ssh.publicKey]);
  });

  describe('through a faulty EC2', () => {
    let proxy: FaultProxy | undefined;
    afterEach(async () => proxy?.close());

    it('retries throttling (standard retry, 8 attempts) and moves to the next zone without capacity', async () => {
      expect(defaultMaxAttempts).toBe(8);
      let firstSubnet: string | undefined;
      proxy = await startFaultProxy(moto.endpoint, (action, params, nth) => {
        if (action !== 'RunInstances') return undefined;
        if (nth <= 2)
          return { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' };
        firstSubnet ??= params.get('SubnetId') ?? '';
        if (params.get('SubnetId') === firstSubnet)
          // 400 here: a 5xx would first go through the SDK's own retries (slow, not what is tested)
          return { status: 400, code: 'InsufficientInstanceCapacity', message: 'no capacity' };
        return undefined;
      });
      const f = await flight(options({ endpoint: proxy.endpoint }));
      const cluster = await f.newCluster({ outputDir: join(ctx.outputDir, 'c') });
      const m = await cluster.newMachine();
      const runs = proxy.calls
        .filter((c) => c.action === 'RunInstances')
        .map((c) => c.params.get('SubnetId'));
      // throttled, then no capacity in the first subnet (the SDK may repeat a call), then the next one
      expect(runs[0]).toBe(firstSubnet);
      expect(new Set(runs).size).toBe(2);
      expect(runs.at(-1)).not.toBe(firstSubnet);
      expect(f.network.subnets.map((s) => s.subnetId)).toContain(runs.at(-1));
      const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [m.id] })))
        .Reservations![0]!.Instances![0]!;
      expect(described.SubnetId).toBe(runs.at(-1));
    });

    it('a create failing after EC2 made the key pair, whose delete fails too, says the key pair may be left', async () => {
      const keyName = ctx.runId; // the flight's name, already `kola-*`
      // EC2 made the key pair, but its answer never came back
      await ec2.send(
        new ImportKeyPairCommand({ KeyName: keyName, PublicKeyMaterial: Buffer.from(ctx.ssh.publicKey) }),
      );
      proxy = await startFaultProxy(moto.endpoint, (action) => {
        if (action === 'ImportKeyPair')
          return { status: 400, code: 'InjectedLostAnswer', message: 'connection reset' };
        if (action === 'DeleteKeyPair')
          return { status: 403, code: 'UnauthorizedOperation', message: 'not allowed' };
        return undefined;
      });
      const err = await AwsFlight.create(options({ endpoint: proxy.endpoint }), ctx, fastTuning).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RollbackError);
      const message = (err as RollbackError).message;
      expect(message).toMatch(/^aws ImportKeyPair: connection reset .*; then cleaning up failed: /);
      expect(message).toContain(`key pair ${keyName} may be left behind: aws DeleteKeyPair: not allowed`);
      // it is indeed left, and the ledger still lists it for `kola cleanup`
      const keys = (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs!;
      expect(keys.map((k) => k.KeyName)).toContain(keyName);
      const alive = ctx.ledger.alive();
      expect(alive.map((e) => [e.kind, e.id])).toEqual([['key-pair', keyName]]);
      for (const entry of alive) await destroyAwsLedgerEntry(entry, options(), ctx);
      expect((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs!.map((k) => k.KeyName)).not.toContain(
        keyName,
      );
    });
  });

  it('kola cleanup destroys an abandoned run’s instances and key pair; already gone is success', async () => {
    const f = await AwsFlight.create(options(), ctx, fastTuning);
    const cluster = await f.newCluster({ outputDir: join(ctx.outputDir, 'x') });
    await cluster.newMachines(2);
    // the process "dies": nothing is destroyed; cleanup works from the ledger alone
    const alive = ctx.ledger.alive();
    expect(alive.map((e) => e.kind).sort()).toEqual(['instance', 'instance', 'key-pair']);
    for (const entry of alive) await destroyAwsLedgerEntry(entry, options(), ctx);
    expect(await liveKolaResources(ec2)).toEqual([]);
    for (const entry of alive) await destroyAwsLedgerEntry(entry, options(), ctx);
  });
});

describe('mergeConsole', () => {
  const boot = `${'[    0.000000] Linux version 6.1 '.repeat(8)}\nlogin: `;
  it('continues the old capture where the new one starts inside it', () => {
    const before = `early\n${boot}`;
    const after = `${boot}\nreboot: Power down\n`;
    expect(mergeConsole(before, after)).toBe(`early\n${boot}\nreboot: Power down\n`);
  });
  it('joins captures that do not overlap with mantle’s scissors line', () => {
    expect(mergeConsole('old text', 'new text')).toBe(`old text${consoleSeparator}new text`);
    expect(consoleSeparator).toBe('\n\n8<------------------------\n\n');
  });
  it('keeps the old capture when nothing new came', () => {
    expect(mergeConsole('same', 'same')).toBe('same');
    expect(mergeConsole('old', '')).toBe('old');
    expect(mergeConsole('', 'new')).toBe('new');
  });
});
