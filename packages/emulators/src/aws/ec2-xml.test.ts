import { describe, expect, it } from 'vitest';
import { launchedInstances, rewritePublicIps } from './ec2-xml.js';

const two = `<DescribeInstancesResponse><reservationSet><item><instancesSet>
<item><instanceId>i-a</instanceId><imageId>ami-1</imageId><privateIpAddress>172.31.0.5</privateIpAddress><ipAddress>54.1.2.3</ipAddress><subnetId>subnet-1</subnetId><instanceType>t3.small</instanceType><keyName>kola-x</keyName>
<networkInterfaceSet><item><association><publicIp>54.1.2.3</publicIp></association></item></networkInterfaceSet></item>
<item><instanceId>i-b</instanceId><imageId>ami-1</imageId><privateIpAddress>172.31.0.6</privateIpAddress><ipAddress>54.9.9.9</ipAddress><subnetId>subnet-1</subnetId><instanceType>t3.small</instanceType></item>
</instancesSet></item></reservationSet></DescribeInstancesResponse>`;

describe('EC2 XML the front reads and rewrites', () => {
  it('reads what it needs of each launched instance', () => {
    expect(launchedInstances(two)).toEqual([
      {
        instanceId: 'i-a',
        privateIp: '172.31.0.5',
        subnetId: 'subnet-1',
        imageId: 'ami-1',
        instanceType: 't3.small',
        keyName: 'kola-x',
      },
      {
        instanceId: 'i-b',
        privateIp: '172.31.0.6',
        subnetId: 'subnet-1',
        imageId: 'ami-1',
        instanceType: 't3.small',
      },
    ]);
  });

  it('reports the machine address as the public IPv4 of the instances it knows, and only those', () => {
    const out = rewritePublicIps(two, (id) => (id === 'i-a' ? '127.10.0.7' : undefined));
    expect(out).toContain('<instanceId>i-a</instanceId>');
    expect(out.match(/127\.10\.0\.7/g)).toHaveLength(2); // ipAddress and the association's publicIp
    expect(out).toContain('<ipAddress>54.9.9.9</ipAddress>');
    expect(out).not.toContain('54.1.2.3');
  });

  it('adds a public address where moto reported none', () => {
    const none = two.replace('<ipAddress>54.1.2.3</ipAddress>', '');
    expect(rewritePublicIps(none, (id) => (id === 'i-a' ? '127.10.0.7' : undefined))).toContain(
      '<privateIpAddress>172.31.0.5</privateIpAddress><ipAddress>127.10.0.7</ipAddress>',
    );
  });
});
