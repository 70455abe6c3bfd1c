import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { md5Fingerprint, parsePublicKey } from '../do/ssh-key.js';
import { paginateEquinixMetal } from '../http/pagination.js';
import { type Route, reply, route } from '../http/routes.js';
import type { MetadataHandler } from '../machines/backend.js';
import { metalMetros, metalPlans, metroJson, planJson } from './catalog.js';
import { followIpxeInstall, InstallError } from './install.js';
import { type DeviceRecord, notFound, type PacketState, refuse, unprocessable } from './state.js';

interface CreateBody {
  metro?: string;
  facility?: unknown;
  plan: string;
  operating_system: string;
  hostname?: string;
  ipxe_script_url?: string;
  always_pxe?: boolean;
  billing_cycle?: string;
  tags?: string[];
  userdata?: string;
  project_ssh_keys?: string[];
  user_ssh_keys?: string[];
  ssh_keys?: unknown[];
  no_ssh_keys?: boolean;
  locked?: boolean;
}

export interface PacketRouteContext {
  state: PacketState;
  log: (line: string) => void;
  /** Aborted when the emulator stops. */
  signal: AbortSignal;
  flavor: 'minimal' | 'systemd';
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

const maxUserDataBytes = 64 * 1024;

export function packetRoutes(c: PacketRouteContext): Route[] {
  const { state } = c;
  const project = (id: string) => (id === state.projectId ? id : notFound());
  const device = (id: string): DeviceRecord => state.devices.get(id) ?? notFound();

  /** The device's metadata service (metadata.platformequinix.com): /metadata JSON and /userdata. */
  const metadataOf =
    (d: DeviceRecord): MetadataHandler =>
    (req) => {
      const path = req.path.split('?')[0];
      if (path === '/userdata') return { status: 200, body: d.installedUserData ?? '' };
      if (path === '/metadata')
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            id: d.id,
            hostname: d.hostname,
            plan: d.plan.slug,
            metro: d.metro.code,
            facility: `${d.metro.code}15`,
            tags: d.tags,
            ssh_keys: d.sshKeyIds.map((k) => state.keys.get(k)?.key).filter(Boolean),
            network: {
              addresses: [
                { address_family: 4, public: true, address: d.machine?.sshHost ?? '', cidr: 31 },
                { address_family: 4, public: false, address: d.privateIp, cidr: 31 },
              ],
            },
          }),
        };
      return { status: 404, body: 'not found' };
    };

  /** The installer's discard listener: open once active; EOF `installMs` after the first connection. */
  async function openDiscard(d: DeviceRecord, host: string): Promise<void> {
    const sockets = new Set<import('node:net').Socket>();
    let installing = false;
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {});
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
      if (!installing) {
        installing = true;
        setTimeout(() => closeDiscard(d), state.timing.installMs).unref();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(9, host, () => resolve());
    });
    d.discard = { server, sockets };
  }

  function closeDiscard(d: DeviceRecord): void {
    const discard = d.discard;
    d.discard = undefined;
    if (!discard) return;
    for (const s of discard.sockets) s.end();
    discard.server.close();
  }

  /** queued → provisioning (the iPXE path followed, the machine started) → active. */
  async function provision(d: DeviceRecord): Promise<void> {
    const signal = c.signal;
    await sleep(state.timing.queuedMs, signal);
    if (signal.aborted || !state.devices.has(d.id)) return;
    d.state = 'provisioning';
    try {
      if (!d.ipxeScriptUrl) throw new InstallError('no ipxe_script_url');
      const { userData } = await followIpxeInstall(d.ipxeScriptUrl, signal);
      d.installedUserData = userData;
      if (!state.devices.has(d.id)) return;
      const machine = await state.backend.start({
        instanceId: d.id,
        provider: 'packet',
        metadata: metadataOf(d),
        network: `packet-${d.metro.code}`,
        privateIp: d.privateIp,
        flavor: c.flavor,
        signal,
      });
      d.machine = machine;
      if (!state.devices.has(d.id)) {
        await machine.terminate();
        return;
      }
      await openDiscard(d, machine.sshHost);
      await sleep(state.timing.provisionMs, signal);
      if (d.held || !state.devices.has(d.id)) return;
      d.state = 'active';
      d.updatedAt = new Date();
      c.log(`packet: device ${d.id} (${d.hostname}) is active at ${machine.sshHost}`);
    } catch (e) {
      d.failure = (e as Error).message;
      d.state = 'failed';
      c.log(`packet: device ${d.id} (${d.hostname}) failed: ${d.failure}`);
    }
  }

  function create(body: CreateBody): DeviceRecord {
    if (body.facility !== undefined)
      unprocessable(
        'Facilities are deprecated: give metro instead (docs.equinix.com/metal/locations/metros)',
      );
    const metro =
      metalMetros.find((m) => m.code === body.metro) ??
      unprocessable(`Metro ${body.metro ?? ''} is not valid`);
    const plan =
      metalPlans.find((p) => p.slug === body.plan) ?? unprocessable(`Plan ${body.plan} is not valid`);
    if (!plan.metros.includes(metro.code))
      unprocessable(`${plan.slug} is not available in metro ${metro.code}`);
    if (body.operating_system !== 'custom_ipxe')
      unprocessable(
        `The emulator provisions only custom_ipxe devices (the iPXE install kola uses), not ${body.operating_system}`,
      );
    if (!body.ipxe_script_url && !body.always_pxe)
      unprocessable('ipxe_script_url is required when operating_system is custom_ipxe');
    if (body.userdata && Buffer.byteLength(body.userdata) > maxUserDataBytes)
      unprocessable('userdata is limited to 64 KiB');
    const keyIds = [...(body.project_ssh_keys ?? []), ...(body.user_ssh_keys ?? [])];
    for (const id of keyIds) if (!state.keys.has(id)) unprocessable(`SSH key ${id} not found`);
    const id = randomUUID();
    const now = new Date();
    const d: DeviceRecord = {
      id,
      shortId: id.slice(0, 8),
      hostname: body.hostname ?? `device-${randomBytes(3).toString('hex')}`,
      plan,
      metro,
      state: 'queued',
      locked: body.locked ?? false,
      tags: [...new Set(body.tags ?? [])],
      billingCycle: body.billing_cycle ?? 'hourly',
      operatingSystem: body.operating_system,
      ipxeScriptUrl: body.ipxe_script_url,
      alwaysPxe: body.always_pxe ?? false,
      userdata: body.userdata ?? '',
      installedUserData: undefined,
      // without project_ssh_keys/user_ssh_keys every project key goes in, as Equinix Metal does
      sshKeyIds: body.no_ssh_keys
        ? []
        : keyIds.length
          ? keyIds
          : [...state.keys.values()]
              .filter((k) => k.owner === `projects/${state.projectId}`)
              .map((k) => k.id),
      createdAt: now,
      updatedAt: now,
      privateIp: state.privateAddress(),
      machine: undefined,
      starting: Promise.resolve(undefined),
      discard: undefined,
      failure: undefined,
      held: false,
    };
    state.devices.set(id, d);
    const provisioning = provision(d);
    d.starting = provisioning.then(() => d.machine);
    return d;
  }

  async function destroy(d: DeviceRecord): Promise<void> {
    state.devices.delete(d.id);
    closeDiscard(d);
    const machine = await d.starting;
    await machine?.terminate();
  }

  const list = <T>(key: string, items: T[], ctx: Parameters<typeof paginateEquinixMetal>[1]) => {
    const page = paginateEquinixMetal(items, ctx);
    return reply(200, { [key]: page.items, meta: page.meta });
  };

  const createKey = (body: { label?: string; key?: string }, owner: string) => {
    const parsed = parsePublicKey(body.key ?? '') ?? unprocessable('Key is not a valid public SSH key');
    const label = body.label || unprocessable("Label can't be blank");
    const fingerprint = md5Fingerprint(parsed.blob);
    if ([...state.keys.values()].some((k) => k.fingerprint === fingerprint))
      unprocessable('Fingerprint has already been taken');
    const k = {
      id: randomUUID(),
      label,
      key: body.key!.trim(),
      fingerprint,
      createdAt: new Date(),
      owner,
    };
    state.keys.set(k.id, k);
    return reply(201, state.keyJson(k));
  };

  return [
    route('GET', '/projects', (ctx) => list('projects', [state.projectJson()], ctx), {
      operationId: 'findProjects',
    }),
    route(
      'GET',
      '/projects/{id}',
      (ctx) => {
        project(ctx.params.id);
        return reply(200, state.projectJson());
      },
      {
        operationId: 'findProjectById',
      },
    ),
    route(
      'GET',
      '/projects/{id}/devices',
      (ctx) => {
        project(ctx.params.id);
        const tag = ctx.query.get('tag');
        const devices = [...state.devices.values()].filter((d) => tag === null || d.tags.includes(tag));
        return list(
          'devices',
          devices.map((d) => state.deviceJson(d)),
          ctx,
        );
      },
      { operationId: 'findProjectDevices' },
    ),
    route(
      'POST',
      '/projects/{id}/devices',
      (ctx) => {
        project(ctx.params.id);
        return reply(201, state.deviceJson(create(ctx.body as CreateBody)));
      },
      { operationId: 'createDevice' },
    ),
    route('GET', '/devices/{id}', (ctx) => reply(200, state.deviceJson(device(ctx.params.id))), {
      operationId: 'findDeviceById',
    }),
    route(
      'PUT',
      '/devices/{id}',
      (ctx) => {
        const d = device(ctx.params.id);
        const body = ctx.body as { locked?: boolean; tags?: string[]; hostname?: string };
        if (body.locked !== undefined) d.locked = body.locked;
        if (body.tags) d.tags = [...new Set(body.tags)];
        if (body.hostname) d.hostname = body.hostname;
        d.updatedAt = new Date();
        return reply(200, state.deviceJson(d));
      },
      { operationId: 'updateDevice' },
    ),
    route(
      'DELETE',
      '/devices/{id}',
      async (ctx) => {
        const d = device(ctx.params.id);
        if (d.locked) refuse(422, 'Cannot delete a locked device: unlock it first');
        await destroy(d);
        return reply(204);
      },
      { operationId: 'deleteDevice' },
    ),
    route(
      'GET',
      '/projects/{id}/ssh-keys',
      (ctx) => {
        project(ctx.params.id);
        const q = ctx.query.get('query');
        const keys = [...state.keys.values()].filter(
          (k) =>
            k.owner === `projects/${state.projectId}` &&
            (q === null || k.label.includes(q) || k.key.includes(q) || k.fingerprint === q),
        );
        return reply(200, { ssh_keys: keys.map((k) => state.keyJson(k)) });
      },
      { operationId: 'findProjectSSHKeys' },
    ),
    route(
      'POST',
      '/projects/{id}/ssh-keys',
      (ctx) => {
        project(ctx.params.id);
        return createKey(ctx.body as { label?: string; key?: string }, `projects/${state.projectId}`);
      },
      { operationId: 'createProjectSSHKey' },
    ),
    route(
      'GET',
      '/ssh-keys',
      () => reply(200, { ssh_keys: [...state.keys.values()].map((k) => state.keyJson(k)) }),
      { operationId: 'findSSHKeys' },
    ),
    route(
      'GET',
      '/ssh-keys/{id}',
      (ctx) => reply(200, state.keyJson(state.keys.get(ctx.params.id) ?? notFound())),
      {
        operationId: 'findSSHKeyById',
      },
    ),
    route(
      'DELETE',
      '/ssh-keys/{id}',
      (ctx) => {
        if (!state.keys.delete(ctx.params.id)) notFound();
        return reply(204);
      },
      { operationId: 'deleteSSHKey' },
    ),
    route('GET', '/locations/metros', () => reply(200, { metros: metalMetros.map(metroJson) }), {
      operationId: 'findMetros',
    }),
    route('GET', '/plans', () => reply(200, { plans: metalPlans.map(planJson) }), {
      operationId: 'findPlans',
    }),
  ];
}
