// The few EC2 query-API XML shapes the front reads and rewrites (moto answers in EC2's own XML).

export const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const firstTag = (xml: string, tag: string): string | undefined =>
  new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

/** Each instance's slice of a RunInstances/DescribeInstances answer: from its id to the next one. */
export function instanceSlices(xml: string): Array<{ id: string; start: number; end: number }> {
  const ids = [...xml.matchAll(/<instanceId>([^<]+)<\/instanceId>/g)];
  return ids.map((m, i) => ({
    id: m[1]!,
    start: m.index ?? 0,
    end: ids[i + 1]?.index ?? xml.length,
  }));
}

/** What the front needs of each launched instance. */
export interface LaunchedInstance {
  instanceId: string;
  privateIp: string;
  subnetId: string;
  imageId: string;
  instanceType: string;
  keyName?: string;
}

export function launchedInstances(xml: string): LaunchedInstance[] {
  return instanceSlices(xml).map(({ id, start, end }) => {
    const part = xml.slice(start, end);
    const keyName = firstTag(part, 'keyName');
    return {
      instanceId: id,
      privateIp: firstTag(part, 'privateIpAddress') ?? '',
      subnetId: firstTag(part, 'subnetId') ?? '',
      imageId: firstTag(part, 'imageId') ?? '',
      instanceType: firstTag(part, 'instanceType') ?? '',
      ...(keyName ? { keyName } : {}),
    };
  });
}

/**
 * Puts the address the machine really answers at where EC2 reports the instance's public IPv4
 * (`ipAddress`, and `publicIp` of its interfaces' associations), so platform code dials what the
 * API said. Instances the front does not know keep moto's values.
 */
export function rewritePublicIps(xml: string, addressOf: (instanceId: string) => string | undefined): string {
  let out = '';
  let cursor = 0;
  for (const { id, start, end } of instanceSlices(xml)) {
    const address = addressOf(id);
    out += xml.slice(cursor, start);
    let part = xml.slice(start, end);
    if (address) {
      part = part
        .replace(/<ipAddress>[^<]*<\/ipAddress>/g, `<ipAddress>${address}</ipAddress>`)
        .replace(/<publicIp>[^<]*<\/publicIp>/g, `<publicIp>${address}</publicIp>`);
      // an instance moto reported without a public address gets one, as a default-VPC launch does
      if (!part.includes('<ipAddress>'))
        part = part.replace(
          /(<privateIpAddress>[^<]*<\/privateIpAddress>)/,
          `$1<ipAddress>${address}</ipAddress>`,
        );
    }
    out += part;
    cursor = end;
  }
  return out + xml.slice(cursor);
}

export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

/** `InstanceId.1`, `InstanceId.2`, … of a query request. */
export function instanceIdsOf(params: URLSearchParams): string[] {
  const ids: string[] = [];
  for (let i = 1; params.has(`InstanceId.${i}`); i++) ids.push(params.get(`InstanceId.${i}`) ?? '');
  return ids;
}
