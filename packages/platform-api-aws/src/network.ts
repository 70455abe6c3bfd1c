import type { EC2Client, IpPermission, Tag } from '@aws-sdk/client-ec2';
import {
  ConfigError,
  deadline,
  errorMessage,
  type Logger,
  PlatformApiError,
  releaseDeadline,
  waitFor,
} from '@mantle/cluster';
import { awsErrorCode } from './api/errors.js';
import {
  authorizeIngress,
  availabilityZones,
  createInternetGateway,
  createPublicRouteTable,
  createPublicSubnet,
  createSecurityGroup,
  createVpc,
  deleteInternetGateway,
  deleteRouteTable,
  deleteSecurityGroup,
  deleteSubnet,
  deleteVpc,
  disassociateRouteTable,
  enableVpcDns,
  findSecurityGroups,
  type SecurityGroupInfo,
  type SubnetInfo,
  subnetsOfVpc,
} from './api/network.js';

/** The shared test network: one security group (looked up by name) and the subnets of its VPC. */
export interface AwsNetwork {
  securityGroupId: string;
  vpcId: string;
  /** One per availability zone, in zone order. */
  subnets: SubnetInfo[];
}

/** The provider's code of an error, wrapped by awsCall or not (`InvalidGroup.Duplicate`, …). */
export function providerCodeOf(e: unknown): string | undefined {
  return e instanceof PlatformApiError ? e.details.providerCode : awsErrorCode(e);
}

export const securityGroupDescription = 'mantle security group for testing';
const vpcCidr = '172.31.0.0/16';

export interface EnsureNetworkInput {
  ec2: EC2Client;
  /** The security group's name (--aws-sg). */
  name: string;
  /** Tags of everything created (CreatedBy=mantle, created-at, …). */
  tags: Tag[];
  log: Logger;
  signal: AbortSignal;
}

/** mantle's rules: SSH from anywhere, everything between machines of the group. */
function ingressRules(groupId: string): IpPermission[] {
  const self = [{ GroupId: groupId }];
  return [
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    { IpProtocol: 'tcp', FromPort: 1, ToPort: 65535, UserIdGroupPairs: self },
    { IpProtocol: 'udp', FromPort: 1, ToPort: 65535, UserIdGroupPairs: self },
    { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, UserIdGroupPairs: self },
  ];
}

/**
 * When several groups carry the name (two runs created the network at once), everyone agrees on the
 * oldest: the one a run that looked first and found none could already be using.
 */
function oldest(groups: SecurityGroupInfo[]): SecurityGroupInfo | undefined {
  return [...groups].sort(
    (a, b) =>
      (a.tags['created-at'] ?? '').localeCompare(b.tags['created-at'] ?? '') ||
      a.groupId.localeCompare(b.groupId),
  )[0];
}

async function networkOf(ec2: EC2Client, group: SecurityGroupInfo, name: string, signal: AbortSignal) {
  const subnets = (await subnetsOfVpc(ec2, group.vpcId, signal)).sort((a, b) => a.zone.localeCompare(b.zone));
  if (!subnets.length)
    throw new ConfigError(
      `--aws-sg ${name}: security group ${group.groupId} is in VPC ${group.vpcId}, which has no subnets`,
      { hint: 'pass --aws-subnet, or delete that group so kola creates its own network' },
    );
  return { securityGroupId: group.groupId, vpcId: group.vpcId, subnets };
}

/** Everything createNetwork made so far, so a failure or a lost race can take it down again. */
interface Made {
  vpcId?: string;
  gatewayId?: string;
  routeTableId?: string;
  subnetIds: string[];
  associationIds: string[];
  groupId?: string;
}

async function removeNetwork(ec2: EC2Client, made: Made, log: Logger): Promise<void> {
  // not under the run's signal: an interrupted creation must still be undone
  const signal = deadline(undefined, 120_000, 'removing an unused network');
  const steps: Array<() => Promise<void>> = [];
  const { groupId, routeTableId, gatewayId, vpcId } = made;
  if (groupId) steps.push(() => deleteSecurityGroup(ec2, groupId, signal));
  for (const id of made.associationIds) steps.push(() => disassociateRouteTable(ec2, id, signal));
  for (const id of made.subnetIds) steps.push(() => deleteSubnet(ec2, id, signal));
  if (routeTableId) steps.push(() => deleteRouteTable(ec2, routeTableId, signal));
  if (gatewayId && vpcId) steps.push(() => deleteInternetGateway(ec2, gatewayId, vpcId, signal));
  if (vpcId) steps.push(() => deleteVpc(ec2, vpcId, signal));
  try {
    for (const step of steps) {
      try {
        await step();
      } catch (e) {
        // keep going: every piece removed is one less leftover
        log.warn('could not remove part of a network kola made', { vpc: vpcId, error: errorMessage(e) });
      }
    }
  } finally {
    releaseDeadline(signal);
  }
}

/** mantle's createSecurityGroup: VPC, gateway, route table, a /20 subnet per zone, then the group. */
async function createNetwork(input: EnsureNetworkInput, made: Made): Promise<void> {
  const { ec2, tags, signal, log } = input;
  made.vpcId = await createVpc(ec2, vpcCidr, tags, signal);
  await enableVpcDns(ec2, made.vpcId, signal);
  made.gatewayId = await createInternetGateway(ec2, made.vpcId, tags, signal);
  made.routeTableId = await createPublicRouteTable(ec2, made.vpcId, made.gatewayId, tags, signal);
  const zones = (await availabilityZones(ec2, signal)).slice(0, 16);
  for (const [i, zone] of zones.entries()) {
    try {
      const subnet = await createPublicSubnet(
        ec2,
        { vpcId: made.vpcId, zone, cidr: `172.31.${i * 16}.0/20`, routeTableId: made.routeTableId, tags },
        signal,
      );
      made.subnetIds.push(subnet.subnetId);
      if (subnet.associationId) made.associationIds.push(subnet.associationId);
    } catch (e) {
      // some accounts cannot use every zone; mantle skips those
      if (providerCodeOf(e) !== 'InvalidParameterValue') throw e;
      log.info('aws: skipping availability zone', { zone, error: errorMessage(e) });
    }
  }
  if (!made.subnetIds.length) throw new ConfigError(`no availability zone of this region accepted a subnet`);
  // stamped just before creation: concurrent creators order their groups by it
  const groupTags = [
    ...tags.filter((t) => t.Key !== 'created-at'),
    { Key: 'created-at', Value: new Date().toISOString() },
  ];
  made.groupId = await createSecurityGroup(
    ec2,
    { vpcId: made.vpcId, name: input.name, description: securityGroupDescription, tags: groupTags },
    signal,
  );
  await authorizeIngress(ec2, made.groupId, ingressRules(made.groupId), signal);
}

/**
 * Finds the security group named `name` and its VPC's subnets, creating the whole network (tagged
 * CreatedBy=mantle) when there is none. Reused by every later run, as mantle does. Two runs creating
 * it at the same moment end up with one: the later group's creator takes its network down again.
 */
export async function findOrCreateNetwork(input: EnsureNetworkInput): Promise<AwsNetwork> {
  const { ec2, name, log, signal } = input;
  const existing = oldest(await findSecurityGroups(ec2, name, signal));
  if (existing) return networkOf(ec2, existing, name, signal);

  log.notice(`aws: creating security group ${name} and its VPC (first run in this region)`);
  const made: Made = { subnetIds: [], associationIds: [] };
  try {
    await createNetwork(input, made);
  } catch (e) {
    await removeNetwork(ec2, made, log);
    if (providerCodeOf(e) !== 'InvalidGroup.Duplicate') throw e;
    // someone made the group meanwhile: use theirs
  }
  const winner = await waitFor(async () => oldest(await findSecurityGroups(ec2, name, signal)), {
    phase: `for security group ${name} to appear`,
    timeoutMs: 60_000,
    intervalMs: 1000,
    signal,
  });
  if (made.groupId && winner.groupId !== made.groupId) {
    log.info('aws: another run created the network at the same time; using theirs', {
      securityGroup: winner.groupId,
    });
    await removeNetwork(ec2, made, log);
  }
  return networkOf(ec2, winner, name, signal);
}

const inFlight = new Map<string, Promise<AwsNetwork>>();

/**
 * findOrCreateNetwork, shared by the flights of this process that ask at the same time (key: endpoint,
 * region, name). Not cached afterwards: the network may be deleted between runs.
 */
export function ensureNetwork(key: string, input: EnsureNetworkInput): Promise<AwsNetwork> {
  let p = inFlight.get(key);
  if (!p) {
    p = findOrCreateNetwork(input).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}
