import type {
  InternetGateway,
  NetworkInterface,
  RouteTable,
  SecurityGroup,
  Subnet,
  Vpc,
} from '@aws-sdk/client-ec2';
import { builtInVerdict, type GcContext, type GcResource, type GcResourceKind } from '@mantle/cluster';
import { awsCall, isNotFound } from '../api/errors.js';
import { ownerTag } from '../tags.js';
import { instanceKind, terminatedInRun } from './instances.js';
import {
  type AwsGcEnv,
  chunks,
  goneInRun,
  ownerFilter,
  perRun,
  providerCode,
  regionOf,
  removedInRun,
  tagMap,
  youngNetworkReason,
} from './shared.js';

/**
 * The network kola creates once per account and region (security group `kola`, its VPC, subnets,
 * internet gateway and route table) is shared by every run, so age means nothing: a piece goes only
 * when nothing uses it, and not while its `created-at` tag is younger than the threshold (a run may
 * have just made it). Subnets, gateway and route table go only with a VPC that goes.
 */
export const securityGroupKind = 'aws.security-group';
export const subnetKind = 'aws.subnet';
export const routeTableKind = 'aws.route-table';
export const internetGatewayKind = 'aws.internet-gateway';
export const vpcKind = 'aws.vpc';

/** Everything the network kinds decide from, listed once per region and run. */
interface NetworkSurvey {
  /** VPCs with the owner tag. */
  vpcs: Vpc[];
  /** Every security group of the region (ours, and others that may reference ours or fill our VPCs). */
  securityGroups: SecurityGroup[];
  /** In the surveyed VPCs: ours, plus VPCs holding one of our security groups. */
  interfaces: NetworkInterface[];
  subnets: Subnet[];
  /** State of every instance in the surveyed VPCs: a terminated one's interface holds nothing. */
  instanceStates: Map<string, string>;
  routeTables: RouteTable[];
  /** Every internet gateway of the region. */
  gateways: InternetGateway[];
}

async function allPages<P extends { NextToken?: string | undefined }>(
  fetch: (token: string | undefined) => Promise<P>,
): Promise<P[]> {
  const pages: P[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    pages.push(page);
    token = page.NextToken;
  } while (token);
  return pages;
}

function survey(env: AwsGcEnv, ctx: GcContext, region: string): Promise<NetworkSurvey> {
  return perRun(ctx, `network:${region}`, async () => {
    const ec2mod = await import('@aws-sdk/client-ec2');
    const ec2 = await env.clients(region).ec2();
    const opts = { abortSignal: ctx.signal };
    const tok = (t: string | undefined) => (t ? { NextToken: t } : {});
    const [vpcPages, sgPages] = await Promise.all([
      allPages((t) =>
        awsCall('DescribeVpcs', () =>
          ec2.send(
            new ec2mod.DescribeVpcsCommand({ Filters: [ownerFilter], MaxResults: 1000, ...tok(t) }),
            opts,
          ),
        ),
      ),
      allPages((t) =>
        awsCall('DescribeSecurityGroups', () =>
          ec2.send(new ec2mod.DescribeSecurityGroupsCommand({ MaxResults: 1000, ...tok(t) }), opts),
        ),
      ),
    ]);
    const vpcs = vpcPages.flatMap((p) => p.Vpcs ?? []);
    const securityGroups = sgPages.flatMap((p) => p.SecurityGroups ?? []);
    const vpcIds = new Set(vpcs.map((v) => v.VpcId ?? ''));
    for (const g of securityGroups) if (g.VpcId && ownerKey(g.Tags)) vpcIds.add(g.VpcId);
    vpcIds.delete('');
    const result: NetworkSurvey = {
      vpcs,
      securityGroups,
      interfaces: [],
      subnets: [],
      instanceStates: new Map(),
      routeTables: [],
      gateways: [],
    };
    if (vpcIds.size === 0) return result;
    // EC2 takes at most 200 values per filter.
    const vpcChunks = chunks([...vpcIds], 200);
    const inVpcs = <P extends { NextToken?: string | undefined }>(
      fetch: (filter: { Name: string; Values: string[] }, token: string | undefined) => Promise<P>,
    ) =>
      Promise.all(vpcChunks.map((ids) => allPages((t) => fetch({ Name: 'vpc-id', Values: ids }, t)))).then(
        (c) => c.flat(),
      );
    const [eniPages, instancePages, subnetPages, rtPages, igwPages] = await Promise.all([
      inVpcs((f, t) =>
        awsCall('DescribeNetworkInterfaces', () =>
          ec2.send(
            new ec2mod.DescribeNetworkInterfacesCommand({ Filters: [f], MaxResults: 1000, ...tok(t) }),
            opts,
          ),
        ),
      ),
      inVpcs((f, t) =>
        awsCall('DescribeInstances', () =>
          ec2.send(new ec2mod.DescribeInstancesCommand({ Filters: [f], MaxResults: 1000, ...tok(t) }), opts),
        ),
      ),
      inVpcs((f, t) =>
        awsCall('DescribeSubnets', () =>
          ec2.send(new ec2mod.DescribeSubnetsCommand({ Filters: [f], MaxResults: 1000, ...tok(t) }), opts),
        ),
      ),
      inVpcs((f, t) =>
        awsCall('DescribeRouteTables', () =>
          ec2.send(new ec2mod.DescribeRouteTablesCommand({ Filters: [f], MaxResults: 100, ...tok(t) }), opts),
        ),
      ),
      allPages((t) =>
        awsCall('DescribeInternetGateways', () =>
          ec2.send(new ec2mod.DescribeInternetGatewaysCommand({ MaxResults: 1000, ...tok(t) }), opts),
        ),
      ),
    ]);
    result.interfaces = eniPages.flatMap((p) => p.NetworkInterfaces ?? []);
    for (const page of instancePages)
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? [])
          if (i.InstanceId) result.instanceStates.set(i.InstanceId, i.State?.Name ?? 'unknown');
    result.subnets = subnetPages.flatMap((p) => p.Subnets ?? []);
    result.routeTables = rtPages.flatMap((p) => p.RouteTables ?? []);
    result.gateways = igwPages.flatMap((p) => p.InternetGateways ?? []);
    return result;
  });
}

function ownerKey(tags: ReadonlyArray<{ Key?: string }> | undefined): boolean {
  return (tags ?? []).some((t) => t.Key === ownerTag.key);
}

/**
 * Network interfaces that hold a piece: every one that stays. In a plan, those of instances this
 * run terminates are not counted (they would go); with `apply` they hold until AWS has finished
 * terminating, which the next run sees.
 */
function holders(interfaces: NetworkInterface[], s: NetworkSurvey, ctx: GcContext): string[] {
  const out: string[] = [];
  for (const eni of interfaces) {
    const instanceId = eni.Attachment?.InstanceId;
    if (instanceId && !ctx.apply && ctx.isCandidate(instanceKind, instanceId)) continue;
    const state = instanceId ? s.instanceStates.get(instanceId) : undefined;
    // the interface of a terminated instance is on its way out with it
    if (state === 'terminated') continue;
    if (instanceId && terminatedInRun(ctx).has(instanceId))
      out.push(
        `${state ?? terminatedInRun(ctx).get(instanceId)} ${instanceId} (terminated by this run; a later gc run removes this)`,
      );
    else if (instanceId) out.push(`${instanceId} (${eni.NetworkInterfaceId})`);
    else out.push(`${eni.NetworkInterfaceId}${eni.Description ? ` "${eni.Description}"` : ''}`);
  }
  return out;
}

function inUse(what: string[]): string | undefined {
  if (what.length === 0) return undefined;
  const shown = what.slice(0, 3).join(', ');
  return `in use by ${shown}${what.length > 3 ? ` and ${what.length - 3} more` : ''}`;
}

function resourceOf(
  kind: string,
  region: string,
  id: string,
  tags: Record<string, string>,
  name?: string,
): GcResource {
  return { kind, id, location: region, ...(name ? { name } : {}), tags };
}

/** The VPC's own tags keep it (owner, keep-until, expires-at, young created-at). */
function vpcTagReason(vpc: Vpc, ctx: GcContext): string | undefined {
  const resource = resourceOf(vpcKind, '', vpc.VpcId ?? '', tagMap(vpc.Tags));
  const verdict = builtInVerdict(resource, { ageless: true }, ownerTag, ctx.now, ctx.olderThanMs);
  if (verdict.keep) return verdict.reason;
  return youngNetworkReason(resource, ctx);
}

/** Why a VPC stays (its pieces then stay too), judged as the engine judges the VPC kind itself. */
function vpcKeepReason(vpc: Vpc, s: NetworkSurvey, ctx: GcContext, withPieces: boolean): string | undefined {
  const id = vpc.VpcId ?? '';
  const tagged = vpcTagReason(vpc, ctx);
  if (tagged) return tagged;
  const busy = inUse(
    holders(
      s.interfaces.filter((e) => e.VpcId === id),
      s,
      ctx,
    ),
  );
  if (busy) return busy;
  const groups = s.securityGroups.filter(
    (g) => g.VpcId === id && g.GroupName !== 'default' && !goneInRun(ctx, securityGroupKind, g.GroupId ?? ''),
  );
  if (groups.length > 0)
    return `holds security group ${groups.map((g) => g.GroupId).join(', ')}, which stays`;
  if (!withPieces) return undefined;
  const subnets = s.subnets.filter((n) => n.VpcId === id && !goneInRun(ctx, subnetKind, n.SubnetId ?? ''));
  if (subnets.length > 0) return `holds subnet ${subnets.map((n) => n.SubnetId).join(', ')}, which stays`;
  const gateways = s.gateways.filter(
    (g) =>
      (g.Attachments ?? []).some((a) => a.VpcId === id) &&
      !goneInRun(ctx, internetGatewayKind, g.InternetGatewayId ?? ''),
  );
  if (gateways.length > 0)
    return `has internet gateway ${gateways.map((g) => g.InternetGatewayId).join(', ')} attached, which stays`;
  const tables = s.routeTables.filter(
    (t) =>
      t.VpcId === id &&
      !(t.Associations ?? []).some((a) => a.Main) &&
      !goneInRun(ctx, routeTableKind, t.RouteTableId ?? ''),
  );
  if (tables.length > 0)
    return `holds route table ${tables.map((t) => t.RouteTableId).join(', ')}, which stays`;
  return undefined;
}

/** A piece (subnet, gateway, route table) goes only with its VPC. */
function pieceVpcReason(vpcId: string | undefined, s: NetworkSurvey, ctx: GcContext): string | undefined {
  if (!vpcId) return undefined;
  const vpc = s.vpcs.find((v) => v.VpcId === vpcId);
  if (!vpc) return `its VPC ${vpcId} was not created by this tool`;
  const reason = vpcKeepReason(vpc, s, ctx, false);
  return reason ? `its VPC ${vpcId} stays (${reason})` : undefined;
}

async function ignoreGone(call: () => Promise<unknown>, alsoGone: RegExp = /$^/): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (!isNotFound(e) && !alsoGone.test(providerCode(e) ?? '')) throw e;
  }
}

export function networkKinds(env: AwsGcEnv): GcResourceKind[] {
  const ec2In = (r: GcResource) => env.clients(regionOf(r)).ec2();
  const ec2mod = () => import('@aws-sdk/client-ec2');
  const done = (ctx: GcContext, kind: string, id: string) => removedInRun(ctx, kind).add(id);

  const securityGroups: GcResourceKind = {
    kind: securityGroupKind,
    description: 'security groups tagged CreatedBy=mantle that no network interface uses',
    dependsOn: [instanceKind],
    ageless: true,
    async *list(ctx) {
      for (const region of ctx.locations)
        for (const g of (await survey(env, ctx, region)).securityGroups)
          if (ownerKey(g.Tags))
            yield resourceOf(securityGroupKind, region, g.GroupId ?? '', tagMap(g.Tags), g.GroupName);
    },
    async protectedReason(resource, ctx) {
      const young = youngNetworkReason(resource, ctx);
      if (young) return young;
      const s = await survey(env, ctx, regionOf(resource));
      const self = s.securityGroups.find((g) => g.GroupId === resource.id);
      if (self?.GroupName === 'default') return 'the default security group of its VPC (goes with the VPC)';
      // a VPC pinned by its tags (keep-until, young) keeps its security group with it
      const vpc = s.vpcs.find((v) => v.VpcId === self?.VpcId);
      const pinned = vpc ? vpcTagReason(vpc, ctx) : undefined;
      if (pinned) return `its VPC ${vpc?.VpcId} stays (${pinned})`;
      const busy = inUse(
        holders(
          s.interfaces.filter((e) => (e.Groups ?? []).some((g) => g.GroupId === resource.id)),
          s,
          ctx,
        ),
      );
      if (busy) return busy;
      const referrers = s.securityGroups.filter(
        (g) =>
          g.GroupId !== resource.id &&
          !goneInRun(ctx, securityGroupKind, g.GroupId ?? '') &&
          [...(g.IpPermissions ?? []), ...(g.IpPermissionsEgress ?? [])].some((p) =>
            (p.UserIdGroupPairs ?? []).some((pair) => pair.GroupId === resource.id),
          ),
      );
      if (referrers.length > 0)
        return `referenced by the rules of ${referrers.map((g) => g.GroupId).join(', ')}, which stays`;
      return undefined;
    },
    async remove(resource, ctx) {
      const { DeleteSecurityGroupCommand } = await ec2mod();
      const ec2 = await ec2In(resource);
      await ignoreGone(() =>
        awsCall('DeleteSecurityGroup', () =>
          ec2.send(new DeleteSecurityGroupCommand({ GroupId: resource.id }), { abortSignal: ctx.signal }),
        ),
      );
      done(ctx, securityGroupKind, resource.id);
    },
  };

  const subnets: GcResourceKind = {
    kind: subnetKind,
    description: 'subnets tagged CreatedBy=mantle of a VPC that goes',
    dependsOn: [instanceKind, securityGroupKind],
    ageless: true,
    async *list(ctx) {
      for (const region of ctx.locations)
        for (const n of (await survey(env, ctx, region)).subnets)
          if (ownerKey(n.Tags)) yield resourceOf(subnetKind, region, n.SubnetId ?? '', tagMap(n.Tags));
    },
    async protectedReason(resource, ctx) {
      const young = youngNetworkReason(resource, ctx);
      if (young) return young;
      const s = await survey(env, ctx, regionOf(resource));
      const busy = inUse(
        holders(
          s.interfaces.filter((e) => e.SubnetId === resource.id),
          s,
          ctx,
        ),
      );
      if (busy) return busy;
      return pieceVpcReason(s.subnets.find((n) => n.SubnetId === resource.id)?.VpcId, s, ctx);
    },
    async remove(resource, ctx) {
      const { DeleteSubnetCommand } = await ec2mod();
      const ec2 = await ec2In(resource);
      await ignoreGone(() =>
        awsCall('DeleteSubnet', () =>
          ec2.send(new DeleteSubnetCommand({ SubnetId: resource.id }), { abortSignal: ctx.signal }),
        ),
      );
      done(ctx, subnetKind, resource.id);
    },
  };

  const routeTables: GcResourceKind = {
    kind: routeTableKind,
    description: 'route tables tagged CreatedBy=mantle of a VPC that goes (not the main one)',
    dependsOn: [subnetKind],
    ageless: true,
    async *list(ctx) {
      for (const region of ctx.locations)
        for (const t of (await survey(env, ctx, region)).routeTables)
          if (ownerKey(t.Tags))
            yield resourceOf(routeTableKind, region, t.RouteTableId ?? '', tagMap(t.Tags));
    },
    async protectedReason(resource, ctx) {
      const young = youngNetworkReason(resource, ctx);
      if (young) return young;
      const s = await survey(env, ctx, regionOf(resource));
      const table = s.routeTables.find((t) => t.RouteTableId === resource.id);
      if ((table?.Associations ?? []).some((a) => a.Main))
        return 'the main route table of its VPC (goes with the VPC)';
      const vpcReason = pieceVpcReason(table?.VpcId, s, ctx);
      if (vpcReason) return vpcReason;
      const associated = (table?.Associations ?? []).filter(
        (a) => a.SubnetId && !goneInRun(ctx, subnetKind, a.SubnetId),
      );
      if (associated.length > 0)
        return `associated with ${associated.map((a) => a.SubnetId).join(', ')}, which stays`;
      return undefined;
    },
    async remove(resource, ctx) {
      const { DeleteRouteTableCommand, DisassociateRouteTableCommand } = await ec2mod();
      const ec2 = await ec2In(resource);
      const s = await survey(env, ctx, regionOf(resource));
      const table = s.routeTables.find((t) => t.RouteTableId === resource.id);
      // Associations of subnets removed in this run went with them (not-found is fine); any other
      // (a gateway edge association) would block the delete.
      for (const a of table?.Associations ?? [])
        if (a.RouteTableAssociationId && !a.Main)
          await ignoreGone(
            () =>
              awsCall('DisassociateRouteTable', () =>
                ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId }), {
                  abortSignal: ctx.signal,
                }),
              ),
            /InvalidAssociationID/,
          );
      await ignoreGone(() =>
        awsCall('DeleteRouteTable', () =>
          ec2.send(new DeleteRouteTableCommand({ RouteTableId: resource.id }), { abortSignal: ctx.signal }),
        ),
      );
      done(ctx, routeTableKind, resource.id);
    },
  };

  const gateways: GcResourceKind = {
    kind: internetGatewayKind,
    description: 'internet gateways tagged CreatedBy=mantle, detached or of a VPC that goes',
    dependsOn: [instanceKind, securityGroupKind],
    ageless: true,
    async *list(ctx) {
      for (const region of ctx.locations)
        for (const g of (await survey(env, ctx, region)).gateways)
          if (ownerKey(g.Tags))
            yield resourceOf(internetGatewayKind, region, g.InternetGatewayId ?? '', tagMap(g.Tags));
    },
    async protectedReason(resource, ctx) {
      const young = youngNetworkReason(resource, ctx);
      if (young) return young;
      const s = await survey(env, ctx, regionOf(resource));
      const gateway = s.gateways.find((g) => g.InternetGatewayId === resource.id);
      for (const a of gateway?.Attachments ?? []) {
        const reason = pieceVpcReason(a.VpcId, s, ctx);
        if (reason) return reason;
      }
      return undefined;
    },
    async remove(resource, ctx) {
      const { DeleteInternetGatewayCommand, DetachInternetGatewayCommand } = await ec2mod();
      const ec2 = await ec2In(resource);
      const s = await survey(env, ctx, regionOf(resource));
      const gateway = s.gateways.find((g) => g.InternetGatewayId === resource.id);
      for (const a of gateway?.Attachments ?? [])
        if (a.VpcId)
          await ignoreGone(
            () =>
              awsCall('DetachInternetGateway', () =>
                ec2.send(
                  new DetachInternetGatewayCommand({ InternetGatewayId: resource.id, VpcId: a.VpcId }),
                  {
                    abortSignal: ctx.signal,
                  },
                ),
              ),
            /Gateway\.NotAttached/,
          );
      await ignoreGone(() =>
        awsCall('DeleteInternetGateway', () =>
          ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: resource.id }), {
            abortSignal: ctx.signal,
          }),
        ),
      );
      done(ctx, internetGatewayKind, resource.id);
    },
  };

  const vpcs: GcResourceKind = {
    kind: vpcKind,
    description: 'VPCs tagged CreatedBy=mantle with nothing left in them but what this run removes',
    dependsOn: [instanceKind, securityGroupKind, subnetKind, routeTableKind, internetGatewayKind],
    ageless: true,
    async *list(ctx) {
      for (const region of ctx.locations)
        for (const v of (await survey(env, ctx, region)).vpcs)
          yield resourceOf(vpcKind, region, v.VpcId ?? '', tagMap(v.Tags));
    },
    async protectedReason(resource, ctx) {
      const s = await survey(env, ctx, regionOf(resource));
      const vpc = s.vpcs.find((v) => v.VpcId === resource.id);
      return vpc ? vpcKeepReason(vpc, s, ctx, true) : undefined;
    },
    async remove(resource, ctx) {
      const { DeleteVpcCommand } = await ec2mod();
      const ec2 = await ec2In(resource);
      await ignoreGone(() =>
        awsCall('DeleteVpc', () =>
          ec2.send(new DeleteVpcCommand({ VpcId: resource.id }), { abortSignal: ctx.signal }),
        ),
      );
      done(ctx, vpcKind, resource.id);
    },
  };

  return [securityGroups, subnets, routeTables, gateways, vpcs];
}
