import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createFaultInjector, type FaultInjector, type FaultOptions } from '../faults/faults.js';
import { awsEc2Shape, awsQueryShape } from '../http/providers.js';
import { pipeToUpstream } from '../http/proxy.js';
import type { BackendMachine, MachineBackend } from '../machines/backend.js';
import {
  ec2ErrorXml,
  firstTag,
  instanceIdsOf,
  type LaunchedInstance,
  launchedInstances,
  rewritePublicIps,
} from './ec2-xml.js';
import { createImdsHandler, type ImdsInstance } from './imds.js';

/**
 * The front of the AWS emulator: moto stays the EC2/S3/IAM/STS API; this server, in front of it,
 * turns the instance calls into machine-backend actions. RunInstances starts a machine per instance
 * (its IMDS serves the instance's user-data and key), DescribeInstances reports the address the
 * machine answers SSH at as the public IPv4, Start/Stop/Reboot/TerminateInstances act on the
 * machine, GetConsoleOutput returns its serial console. Everything else goes to moto unchanged.
 */
export interface AwsFront {
  endpoint: string;
  /** Machines by instance id (terminated ones are gone). */
  machines: ReadonlyMap<string, BackendMachine>;
  /** IMDS requests each instance's guest made, by instance id. */
  imdsRequests(instanceId: string): string[];
  /** Actions the front itself handled, counted. */
  counts(): Map<string, number>;
  /** Faults injected so far, by kind. */
  faultsInjected(): Map<string, number>;
  close(): Promise<void>;
}

interface Forwarded {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const serviceOf = (req: IncomingMessage) =>
  /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'unknown';
const regionOf = (req: IncomingMessage) =>
  /Credential=[^/]+\/\d+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'us-east-1';

const handled = new Set([
  'RunInstances',
  'DescribeInstances',
  'StartInstances',
  'StopInstances',
  'RebootInstances',
  'TerminateInstances',
  'GetConsoleOutput',
]);

export async function startAwsFront(settings: {
  /** moto (or its import stand-in) endpoint. */
  upstream: string;
  backend: MachineBackend;
  /** Boot flavour of the test image for qemu machines. */
  flavor?: 'minimal' | 'systemd';
  /** Port to listen on (default: a free one). */
  port?: number;
  /**
   * Seeded faults on EC2/IAM/STS query calls, decided before the call reaches moto (so a faulted
   * call changed nothing, as a throttled one does not on AWS): EC2's 503 RequestLimitExceeded, IAM
   * and STS's Throttling, 500/503 in each service's shape, dropped connections, added latency.
   */
  faults?: FaultOptions;
  /**
   * Running-instance limits per instance type: a RunInstances that would exceed one is refused with
   * EC2's InstanceLimitExceeded, before it reaches moto (tests make the Nth launch of a flight fail).
   */
  instanceLimits?: Readonly<Record<string, number>>;
  log?: (line: string) => void;
}): Promise<AwsFront> {
  const upstream = new URL(settings.upstream);
  const machines = new Map<string, BackendMachine>();
  const typeOf = new Map<string, string>();
  /** Instances of launches under way, by type: counted against the limits before they run. */
  const launching = new Map<string, number>();
  const imds = new Map<string, ReturnType<typeof createImdsHandler>>();
  const counts = new Map<string, number>();
  const log = settings.log ?? (() => {});
  const faults: FaultInjector | undefined = settings.faults
    ? createFaultInjector(settings.faults)
    : undefined;
  const shapes = { ec2: awsEc2Shape(), query: awsQueryShape() };

  /** Applies the fault drawn for this call, if any; true when the call is answered (or dropped). */
  async function injectFault(req: IncomingMessage, res: ServerResponse, operation: string): Promise<boolean> {
    const fault = faults?.decide(operation);
    if (!fault) return false;
    if (fault.kind === 'latency') {
      await new Promise((r) => setTimeout(r, fault.ms));
      return false;
    }
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return true;
    }
    const shape = serviceOf(req) === 'ec2' ? shapes.ec2 : shapes.query;
    const answer =
      fault.kind === 'throttle' ? shape.throttled(fault.retryAfterSeconds) : shape.serverError(fault.status);
    res.writeHead(answer.status, answer.headers ?? {});
    const body = answer.body;
    res.end(
      body === undefined
        ? ''
        : typeof body === 'string' || Buffer.isBuffer(body)
          ? body
          : JSON.stringify(body),
    );
    return true;
  }

  const forward = (req: IncomingMessage, body: Buffer, replaceBody?: string): Promise<Forwarded> =>
    new Promise((resolve, reject) => {
      const payload = replaceBody === undefined ? body : Buffer.from(replaceBody);
      const headers = { ...req.headers, 'content-length': String(payload.length) };
      const up = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(payload);
    });

  /** A query call of our own to moto (DescribeKeyPairs, TerminateInstances on a failed launch). */
  const query = async (req: IncomingMessage, params: Record<string, string>): Promise<string> => {
    const body = new URLSearchParams({ Version: '2016-11-15', ...params }).toString();
    const r = await forward(req, Buffer.alloc(0), body);
    return r.body.toString();
  };

  const reply = (res: ServerResponse, status: number, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(body);
  };
  const addressOf = (id: string) => machines.get(id)?.sshHost;

  async function runInstances(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    params: URLSearchParams,
  ) {
    const type = params.get('InstanceType') ?? 'm1.small';
    const limit = settings.instanceLimits?.[type];
    const requested = Number(params.get('MinCount') ?? '1');
    const running = [...typeOf.values()].filter((t) => t === type).length + (launching.get(type) ?? 0);
    if (limit !== undefined && running + requested > limit)
      return reply(
        res,
        400,
        ec2ErrorXml(
          'InstanceLimitExceeded',
          `You have requested more instances (${running + requested}) than your current instance limit of ${limit} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
          randomBytes(8).toString('hex'),
        ),
      );
    launching.set(type, (launching.get(type) ?? 0) + requested);
    try {
      await launch(req, res, body, params);
    } finally {
      launching.set(type, (launching.get(type) ?? 0) - requested);
    }
  }

  async function launch(req: IncomingMessage, res: ServerResponse, body: Buffer, params: URLSearchParams) {
    const answer = await forward(req, body);
    if (answer.status !== 200) return reply(res, answer.status, answer.body);
    const xml = answer.body.toString();
    const launched = launchedInstances(xml);
    const userData = params.get('UserData');
    const region = regionOf(req);
    try {
      await Promise.all(launched.map((i) => startMachine(req, i, userData, region)));
    } catch (e) {
      // the launch fails as a whole, and nothing of it is left: not in moto, not as a VM
      await Promise.allSettled(launched.map((i) => machines.get(i.instanceId)?.terminate()));
      for (const i of launched) {
        machines.delete(i.instanceId);
        typeOf.delete(i.instanceId);
      }
      await query(req, {
        Action: 'TerminateInstances',
        ...Object.fromEntries(launched.map((i, n) => [`InstanceId.${n + 1}`, i.instanceId])),
      });
      log(`aws front: RunInstances: a machine did not start: ${String(e)}`);
      return reply(
        res,
        500,
        ec2ErrorXml(
          'InternalError',
          `the emulator could not start a machine: ${String(e)}`,
          randomBytes(8).toString('hex'),
        ),
      );
    }
    reply(res, 200, rewritePublicIps(xml, addressOf));
  }

  async function startMachine(
    req: IncomingMessage,
    launched: LaunchedInstance,
    userData: string | null,
    region: string,
  ) {
    let publicKey: string | undefined;
    if (launched.keyName) {
      const keys = await query(req, {
        Action: 'DescribeKeyPairs',
        'KeyName.1': launched.keyName,
        IncludePublicKey: 'true',
      });
      publicKey = firstTag(keys, 'publicKey')?.trim();
    }
    const instance: ImdsInstance = {
      instanceId: launched.instanceId,
      ...(userData ? { userData: Buffer.from(userData, 'base64') } : {}),
      ...(launched.keyName ? { keyName: launched.keyName } : {}),
      ...(publicKey ? { publicKey } : {}),
      localIpv4: launched.privateIp,
      publicIpv4: '',
      region,
      instanceType: launched.instanceType,
      amiId: launched.imageId,
    };
    const handler = createImdsHandler(instance);
    imds.set(launched.instanceId, handler);
    const machine = await settings.backend.start({
      instanceId: launched.instanceId,
      provider: 'aws',
      metadata: handler,
      network: launched.subnetId || 'default',
      privateIp: launched.privateIp,
      ...(settings.flavor ? { flavor: settings.flavor } : {}),
    });
    instance.publicIpv4 = machine.sshHost;
    machines.set(launched.instanceId, machine);
    typeOf.set(launched.instanceId, launched.instanceType);
    log(
      `aws front: ${launched.instanceId} is a ${settings.backend.kind} machine at ${machine.sshHost}:${machine.sshPort}`,
    );
  }

  async function instanceAction(
    action: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    params: URLSearchParams,
  ) {
    const answer = await forward(req, body);
    if (answer.status === 200) {
      const ids = instanceIdsOf(params);
      await Promise.all(
        ids.map(async (id) => {
          const machine = machines.get(id);
          if (!machine) return;
          if (action === 'StopInstances') await machine.stop();
          else if (action === 'StartInstances') await machine.start();
          else if (action === 'RebootInstances') await machine.reboot();
          else if (action === 'TerminateInstances') {
            await machine.terminate();
            machines.delete(id);
            typeOf.delete(id);
          }
        }),
      );
    }
    reply(res, answer.status, answer.body);
  }

  async function consoleOutput(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    params: URLSearchParams,
  ) {
    const id = params.get('InstanceId') ?? '';
    const machine = machines.get(id);
    if (!machine) return reply(res, ...(await forward(req, body).then((a) => [a.status, a.body] as const)));
    const output = Buffer.from(machine.consoleOutput()).toString('base64');
    reply(
      res,
      200,
      `<?xml version="1.0" encoding="UTF-8"?><GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomBytes(8).toString('hex')}</requestId><instanceId>${id}</instanceId><timestamp>${new Date().toISOString()}</timestamp><output>${output}</output></GetConsoleOutputResponse>`,
    );
  }

  function pipeThrough(req: IncomingMessage, res: ServerResponse) {
    pipeToUpstream(upstream, req, res, (e) =>
      reply(res, 502, ec2ErrorXml('BadGateway', String(e), randomBytes(8).toString('hex'))),
    );
  }

  const server: Server = createServer(async (req, res) => {
    try {
      const isQuery =
        req.method === 'POST' && (req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
      // S3 bodies (image uploads) stream through; only query calls are read whole
      if (!isQuery) return pipeThrough(req, res);
      const body = await readBody(req);
      const params = new URLSearchParams(body.toString());
      const action = params.get('Action') ?? '';
      if (await injectFault(req, res, `${serviceOf(req)}:${action}`)) return;
      if (serviceOf(req) === 'ec2' && handled.has(action)) {
        counts.set(action, (counts.get(action) ?? 0) + 1);
        if (action === 'RunInstances') return await runInstances(req, res, body, params);
        if (action === 'DescribeInstances') {
          const answer = await forward(req, body);
          return reply(
            res,
            answer.status,
            answer.status === 200 ? rewritePublicIps(answer.body.toString(), addressOf) : answer.body,
          );
        }
        if (action === 'GetConsoleOutput') return await consoleOutput(req, res, body, params);
        return await instanceAction(action, req, res, body, params);
      }
      const answer = await forward(req, body);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch (e) {
      if (!res.headersSent)
        reply(res, 500, ec2ErrorXml('InternalError', String(e), randomBytes(8).toString('hex')));
      else res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(settings.port ?? 0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    endpoint,
    machines,
    imdsRequests: (id) => [...(imds.get(id)?.requests ?? [])],
    counts: () => new Map(counts),
    faultsInjected: () => faults?.injected() ?? new Map(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
