import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AwsOptions } from '../options.js';

/**
 * moto_server (the AWS emulator) on a free loopback port, with a small stand-in in front of it for
 * the two calls moto 5.2.1 lacks: ImportSnapshot and DescribeImportSnapshotTasks. The stand-in
 * checks the S3 object exists in moto, then makes a real moto snapshot of that size (CreateVolume +
 * CreateSnapshot + DeleteVolume); the task reads `active` on the first describe and `completed`
 * after. Every other request is forwarded to moto unchanged.
 */
export interface Moto {
  /** The endpoint to give the SDK (the stand-in in front of moto). */
  endpoint: string;
  /** moto itself. */
  motoEndpoint: string;
  /** Options for the aws platform pointed at this moto. */
  options(extra?: Partial<AwsOptions>): AwsOptions;
  /** Environment for child processes (ore, kola): endpoint and dummy credentials. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Clears every resource in every region (`POST /moto-api/reset`) and the stand-in's tasks. */
  reset(): Promise<void>;
  /** How many requests of each EC2/S3 action reached the endpoint since the last reset. */
  requestCounts(): Map<string, number>;
  stop(): Promise<void>;
}

export const motoCredentials = { accessKeyId: 'AKIAMOTOTESTKEY00000', secretAccessKey: 'moto-secret' };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function regionOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return /Credential=[^/]+\/\d+\/([^/]+)\//.exec(auth)?.[1] ?? 'us-east-1';
}

/** The service named in the SigV4 credential scope (ec2, s3, ebs, …). */
function serviceOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
}

interface Forwarded {
  status: number;
  body: string;
}

function forward(
  motoPort: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Forwarded> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: motoPort, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface ImportTask {
  id: string;
  region: string;
  description: string;
  bucket: string;
  key: string;
  format: string;
  size: number;
  snapshotId: string;
  /** Why the import failed (the task ends "deleted" with this message, as AWS's do). */
  failure?: string;
  describes: number;
  tags: Array<[string, string]>;
}

export async function startMoto(): Promise<Moto> {
  const motoPort = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(motoPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  const motoEndpoint = `http://127.0.0.1:${motoPort}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null || i > 150)
      throw new Error(`moto_server did not start: ${stderr.trim().split('\n').pop() ?? 'no output'}`);
    try {
      const r = await fetch(`${motoEndpoint}/moto-api/data.json`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }

  const tasks = new Map<string, ImportTask>();
  const counts = new Map<string, number>();
  const ec2Headers = (region: string) => ({
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `AWS4-HMAC-SHA256 Credential=${motoCredentials.accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
  });
  const ec2 = async (region: string, params: Record<string, string>): Promise<string> => {
    const body = Buffer.from(new URLSearchParams({ Version: '2016-11-15', ...params }).toString());
    const r = await forward(motoPort, 'POST', '/', ec2Headers(region), body);
    if (r.status >= 300) throw new Error(`moto ${params.Action}: ${r.status} ${r.body.slice(0, 200)}`);
    return r.body;
  };
  const taskXml = (t: ImportTask) => {
    const completed = t.describes >= 2;
    const status = !completed ? 'active' : t.failure ? 'deleted' : 'completed';
    const message = !completed ? 'pending' : (t.failure ?? '');
    return `<importTaskId>${t.id}</importTaskId><description>${xmlEscape(t.description)}</description>
<snapshotTaskDetail><description>${xmlEscape(t.description)}</description><diskImageSize>${t.size}</diskImageSize><format>${t.format}</format>
<progress>${completed ? '100' : '42'}</progress><status>${status}</status><statusMessage>${xmlEscape(message)}</statusMessage>
${status === 'completed' ? `<snapshotId>${t.snapshotId}</snapshotId>` : ''}<userBucket><s3Bucket>${xmlEscape(t.bucket)}</s3Bucket><s3Key>${xmlEscape(t.key)}</s3Key></userBucket></snapshotTaskDetail>
<tagSet>${t.tags.map(([k, v]) => `<item><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`).join('')}</tagSet>`;
  };
  const ec2Error = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${randomBytes(8).toString('hex')}</RequestID></Response>`,
    );
  };

  async function importSnapshot(params: URLSearchParams, region: string, res: ServerResponse) {
    const bucket = params.get('DiskContainer.UserBucket.S3Bucket') ?? '';
    const key = params.get('DiskContainer.UserBucket.S3Key') ?? '';
    // the object's first sector and size, as the import service reads them
    const object = await new Promise<{ status: number; size: number; head: Buffer }>((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port: motoPort,
          method: 'GET',
          path: `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
          headers: {
            range: 'bytes=0-511',
            authorization: `AWS4-HMAC-SHA256 Credential=${motoCredentials.accessKeyId}/20260101/${region}/s3/aws4_request, SignedHeaders=host, Signature=0`,
          },
        },
        (resp) => {
          const chunks: Buffer[] = [];
          resp.on('data', (d: Buffer) => chunks.push(d));
          resp.on('end', () => {
            const total = /\/(\d+)$/.exec(String(resp.headers['content-range'] ?? ''))?.[1];
            resolve({
              status: resp.statusCode ?? 0,
              size: Number(total ?? resp.headers['content-length'] ?? 0),
              head: Buffer.concat(chunks),
            });
          });
        },
      );
      r.on('error', reject);
      r.end();
    });
    if (!bucket || !key || (object.status !== 200 && object.status !== 206))
      return ec2Error(res, 400, 'InvalidParameter', `S3 object s3://${bucket}/${key} does not exist`);
    const format = (params.get('DiskContainer.Format') ?? 'RAW').toUpperCase();
    // AWS accepts the call and fails the task; so does the stand-in, for a VMDK without the magic
    let failure: string | undefined;
    let sizeReq = object.size;
    if (format === 'VMDK') {
      if (object.head.length < 512 || object.head.subarray(0, 4).toString('latin1') !== 'KDMV')
        failure = 'ClientError: Disk validation failed [Unsupported VMDK File Format]';
      else sizeReq = Number(object.head.readBigUInt64LE(12)) * 512; // the disk's capacity
    }
    const description = params.get('Description') ?? '';
    let snapshot: string | undefined;
    if (!failure) {
      const volume = /<volumeId>([^<]+)<\/volumeId>/.exec(
        await ec2(region, {
          Action: 'CreateVolume',
          AvailabilityZone: `${region}a`,
          Size: String(Math.max(1, Math.ceil(sizeReq / 2 ** 30))),
        }),
      )?.[1];
      snapshot = /<snapshotId>([^<]+)<\/snapshotId>/.exec(
        await ec2(region, {
          Action: 'CreateSnapshot',
          VolumeId: volume ?? '',
          Description: `Created by AWS-VMImport service for ${description}`,
        }),
      )?.[1];
      await ec2(region, { Action: 'DeleteVolume', VolumeId: volume ?? '' });
    }
    const tags: Array<[string, string]> = [];
    for (let i = 1; params.has(`TagSpecification.1.Tag.${i}.Key`); i++)
      tags.push([
        params.get(`TagSpecification.1.Tag.${i}.Key`) ?? '',
        params.get(`TagSpecification.1.Tag.${i}.Value`) ?? '',
      ]);
    const task: ImportTask = {
      id: `import-snap-${randomBytes(8).toString('hex').slice(0, 17)}`,
      region,
      description,
      bucket,
      key,
      format,
      size: sizeReq,
      ...(failure ? { failure } : {}),
      snapshotId: snapshot ?? '',
      describes: 0,
      tags,
    };
    tasks.set(task.id, task);
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ImportSnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomBytes(8).toString('hex')}</requestId>${taskXml(task)}</ImportSnapshotResponse>`,
    );
  }

  function describeImportSnapshotTasks(params: URLSearchParams, region: string, res: ServerResponse) {
    const ids: string[] = [];
    for (let i = 1; params.has(`ImportTaskId.${i}`); i++) ids.push(params.get(`ImportTaskId.${i}`) ?? '');
    const found = [...tasks.values()].filter(
      (t) => t.region === region && (ids.length === 0 || ids.includes(t.id)),
    );
    const missing = ids.find((id) => !tasks.has(id));
    if (missing)
      return ec2Error(res, 400, 'InvalidConversionTaskId.Malformed', `task ${missing} does not exist`);
    for (const t of found) t.describes++;
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><DescribeImportSnapshotTasksResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomBytes(8).toString('hex')}</requestId><importSnapshotTaskSet>${found
        .map((t) => `<item>${taskXml(t)}</item>`)
        .join('')}</importSnapshotTaskSet></DescribeImportSnapshotTasksResponse>`,
    );
  }

  const shim: Server = createHttpServer(async (req, res) => {
    try {
      const service = serviceOf(req);
      const isQuery =
        req.method === 'POST' && (req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
      if (isQuery) {
        const body = await readBody(req);
        const params = new URLSearchParams(body.toString());
        const action = params.get('Action') ?? '?';
        counts.set(`${service}:${action}`, (counts.get(`${service}:${action}`) ?? 0) + 1);
        if (service === 'ec2' && action === 'ImportSnapshot')
          return await importSnapshot(params, regionOf(req), res);
        if (service === 'ec2' && action === 'DescribeImportSnapshotTasks')
          return describeImportSnapshotTasks(params, regionOf(req), res);
        return pipeTo(req, res, body);
      }
      // path-style: `/bucket` or `/bucket/` is the bucket, `/bucket/key…` an object
      const path = (req.url ?? '').split('?')[0] ?? '';
      const op = `${service}:${req.method} ${/^\/[^/]+\/?$/.test(path) ? 'bucket' : 'object'}`;
      counts.set(op, (counts.get(op) ?? 0) + 1);
      return pipeTo(req, res);
    } catch (e) {
      if (!res.headersSent) ec2Error(res, 500, 'InternalError', String(e));
      else res.destroy();
    }
  });
  function pipeTo(req: IncomingMessage, res: ServerResponse, body?: Buffer) {
    const upstream = request(
      { host: '127.0.0.1', port: motoPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) ec2Error(res, 502, 'BadGateway', String(e));
      else res.destroy();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }
  await new Promise<void>((resolve) => shim.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(shim.address() as { port: number }).port}`;

  return {
    endpoint,
    motoEndpoint,
    options: (extra = {}) => ({
      region: 'us-west-2',
      type: 't3.small',
      sg: 'kola',
      consoleWait: 30,
      endpoint,
      ...extra,
    }),
    env: (extra = {}) => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
      AWS_REGION: 'us-west-2',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...extra,
    }),
    async reset() {
      tasks.clear();
      counts.clear();
      const r = await fetch(`${motoEndpoint}/moto-api/reset`, { method: 'POST' });
      if (!r.ok) throw new Error(`moto reset: ${r.status}`);
    },
    requestCounts: () => new Map(counts),
    async stop() {
      shim.closeAllConnections();
      await new Promise<void>((resolve) => shim.close(() => resolve()));
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
