import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeAvailabilityZonesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  type EC2Client,
  type IpPermission,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { awsCall, isNotFound } from './errors.js';

type Opts = { abortSignal?: AbortSignal };
const opts = (signal?: AbortSignal): Opts => (signal ? { abortSignal: signal } : {});

export interface SecurityGroupInfo {
  groupId: string;
  vpcId: string;
  tags: Record<string, string>;
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** Security groups with this name, in any VPC of the region. */
export async function findSecurityGroups(
  ec2: EC2Client,
  name: string,
  signal?: AbortSignal,
): Promise<SecurityGroupInfo[]> {
  const r = await awsCall('DescribeSecurityGroups', () =>
    ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }),
      opts(signal),
    ),
  );
  return (r.SecurityGroups ?? [])
    .filter((g) => g.GroupId && g.VpcId)
    .map((g) => ({ groupId: g.GroupId!, vpcId: g.VpcId!, tags: tagMap(g.Tags) }));
}

export async function createVpc(ec2: EC2Client, cidr: string, tags: Tag[], signal?: AbortSignal) {
  const r = await awsCall('CreateVpc', () =>
    ec2.send(
      new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: [{ ResourceType: 'vpc', Tags: tags }] }),
      opts(signal),
    ),
  );
  const id = r.Vpc?.VpcId;
  if (!id) throw new Error('CreateVpc returned no VpcId');
  return id;
}

/** DNS support and hostnames on (one attribute per call, as the API demands). */
export async function enableVpcDns(ec2: EC2Client, vpcId: string, signal?: AbortSignal): Promise<void> {
  await awsCall('ModifyVpcAttribute', () =>
    ec2.send(
      new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsSupport: { Value: true } }),
      opts(signal),
    ),
  );
  await awsCall('ModifyVpcAttribute', () =>
    ec2.send(
      new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }),
      opts(signal),
    ),
  );
}

export async function createInternetGateway(
  ec2: EC2Client,
  vpcId: string,
  tags: Tag[],
  signal?: AbortSignal,
): Promise<string> {
  const r = await awsCall('CreateInternetGateway', () =>
    ec2.send(
      new CreateInternetGatewayCommand({
        TagSpecifications: [{ ResourceType: 'internet-gateway', Tags: tags }],
      }),
      opts(signal),
    ),
  );
  const id = r.InternetGateway?.InternetGatewayId;
  if (!id) throw new Error('CreateInternetGateway returned no id');
  await awsCall('AttachInternetGateway', () =>
    ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpcId }), opts(signal)),
  );
  return id;
}

/** A route table whose default route goes to the internet gateway. */
export async function createPublicRouteTable(
  ec2: EC2Client,
  vpcId: string,
  gatewayId: string,
  tags: Tag[],
  signal?: AbortSignal,
): Promise<string> {
  const r = await awsCall('CreateRouteTable', () =>
    ec2.send(
      new CreateRouteTableCommand({
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'route-table', Tags: tags }],
      }),
      opts(signal),
    ),
  );
  const id = r.RouteTable?.RouteTableId;
  if (!id) throw new Error('CreateRouteTable returned no id');
  await awsCall('CreateRoute', () =>
    ec2.send(
      new CreateRouteCommand({ RouteTableId: id, DestinationCidrBlock: '0.0.0.0/0', GatewayId: gatewayId }),
      opts(signal),
    ),
  );
  return id;
}

export async function availabilityZones(ec2: EC2Client, signal?: AbortSignal): Promise<string[]> {
  const r = await awsCall('DescribeAvailabilityZones', () =>
    ec2.send(
      new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }),
      opts(signal),
    ),
  );
  return (r.AvailabilityZones ?? []).map((z) => z.ZoneName ?? '').filter(Boolean);
}

/** A subnet that gives instances public addresses, routed through `routeTableId`. */
export async function createPublicSubnet(
  ec2: EC2Client,
  input: { vpcId: string; zone: string; cidr: string; routeTableId: string; tags: Tag[] },
  signal?: AbortSignal,
): Promise<{ subnetId: string; associationId?: string }> {
  const r = await awsCall('CreateSubnet', () =>
    ec2.send(
      new CreateSubnetCommand({
        VpcId: input.vpcId,
        AvailabilityZone: input.zone,
        CidrBlock: input.cidr,
        TagSpecifications: [{ ResourceType: 'subnet', Tags: input.tags }],
      }),
      opts(signal),
    ),
  );
  const id = r.Subnet?.SubnetId;
  if (!id) throw new Error('CreateSubnet returned no id');
  await awsCall('ModifySubnetAttribute', () =>
    ec2.send(
      new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: true } }),
      opts(signal),
    ),
  );
  const association = await awsCall('AssociateRouteTable', () =>
    ec2.send(
      new AssociateRouteTableCommand({ RouteTableId: input.routeTableId, SubnetId: id }),
      opts(signal),
    ),
  );
  return {
    subnetId: id,
    ...(association.AssociationId ? { associationId: association.AssociationId } : {}),
  };
}

export async function createSecurityGroup(
  ec2: EC2Client,
  input: { vpcId: string; name: string; description: string; tags: Tag[] },
  signal?: AbortSignal,
): Promise<string> {
  const r = await awsCall('CreateSecurityGroup', () =>
    ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: input.vpcId,
        GroupName: input.name,
        Description: input.description,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: input.tags }],
      }),
      opts(signal),
    ),
  );
  if (!r.GroupId) throw new Error('CreateSecurityGroup returned no GroupId');
  return r.GroupId;
}

export async function authorizeIngress(
  ec2: EC2Client,
  groupId: string,
  permissions: IpPermission[],
  signal?: AbortSignal,
): Promise<void> {
  await awsCall('AuthorizeSecurityGroupIngress', () =>
    ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions }),
      opts(signal),
    ),
  );
}

export interface SubnetInfo {
  subnetId: string;
  zone: string;
  cidr: string;
}

export async function subnetsOfVpc(
  ec2: EC2Client,
  vpcId: string,
  signal?: AbortSignal,
): Promise<SubnetInfo[]> {
  const r = await awsCall('DescribeSubnets', () =>
    ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }), opts(signal)),
  );
  return (r.Subnets ?? []).map((s) => ({
    subnetId: s.SubnetId ?? '',
    zone: s.AvailabilityZone ?? '',
    cidr: s.CidrBlock ?? '',
  }));
}

/** Deletions used to undo a half-made or duplicate network; already gone is success. */
async function ignoringNotFound(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export const deleteSecurityGroup = (ec2: EC2Client, groupId: string, signal?: AbortSignal) =>
  ignoringNotFound(() =>
    awsCall('DeleteSecurityGroup', () =>
      ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }), opts(signal)),
    ),
  );

export const deleteSubnet = (ec2: EC2Client, subnetId: string, signal?: AbortSignal) =>
  ignoringNotFound(() =>
    awsCall('DeleteSubnet', () => ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }), opts(signal))),
  );

export const disassociateRouteTable = (ec2: EC2Client, associationId: string, signal?: AbortSignal) =>
  ignoringNotFound(() =>
    awsCall('DisassociateRouteTable', () =>
      ec2.send(new DisassociateRouteTableCommand({ AssociationId: associationId }), opts(signal)),
    ),
  );

export const deleteRouteTable = (ec2: EC2Client, routeTableId: string, signal?: AbortSignal) =>
  ignoringNotFound(() =>
    awsCall('DeleteRouteTable', () =>
      ec2.send(new DeleteRouteTableCommand({ RouteTableId: routeTableId }), opts(signal)),
    ),
  );

export async function deleteInternetGateway(
  ec2: EC2Client,
  gatewayId: string,
  vpcId: string,
  signal?: AbortSignal,
): Promise<void> {
  await ignoringNotFound(() =>
    awsCall('DetachInternetGateway', () =>
      ec2.send(
        new DetachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId: vpcId }),
        opts(signal),
      ),
    ),
  );
  await ignoringNotFound(() =>
    awsCall('DeleteInternetGateway', () =>
      ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: gatewayId }), opts(signal)),
    ),
  );
}

export const deleteVpc = (ec2: EC2Client, vpcId: string, signal?: AbortSignal) =>
  ignoringNotFound(() =>
    awsCall('DeleteVpc', () => ec2.send(new DeleteVpcCommand({ VpcId: vpcId }), opts(signal))),
  );
