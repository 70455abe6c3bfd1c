import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Route, reply, route } from '../http/routes.js';
import type { BackendMachine } from '../machines/backend.js';
import { doRegions, findSize } from './catalog.js';
import { type DoContext, listReply } from './context.js';
import { createDoMetadataHandler, doVendorData } from './metadata.js';
import { DoProgress } from './progress.js';
import { type DropletRecord, type ImageRecord, notFoundMessage, refuse, unprocessable } from './state.js';

interface CreateBody {
  name?: string;
  names?: string[];
  region?: string;
  size: string;
  image: string | number;
  ssh_keys?: (string | number)[];
  ipv6?: boolean;
  monitoring?: boolean;
  tags?: string[] | null;
  user_data?: string;
  public_networking?: boolean;
}

const dropletLimit = 25;
const maxUserDataBytes = 64 * 1024;
const tagPattern = /^[a-zA-Z0-9_\-:]{1,255}$/;

const originWords: Record<ImageRecord['origin'], string> = {
  'test-image': "kola's test image",
  distribution: 'a distribution image',
  custom: 'a custom image imported from a URL',
  snapshot:
    'a snapshot (the emulator keeps the disk of a powered-off qemu droplet for tests to read, and boots none)',
};

export function dropletRoutes(c: DoContext): Route[] {
  const { state } = c;
  const find = (id: string): DropletRecord =>
    state.droplets.get(Number(id)) ?? refuse(404, 'not_found', notFoundMessage);

  /** What a create needs from the account, checked as the API does, before anything is made. */
  function resolve(body: CreateBody) {
    const names = body.names ?? (body.name === undefined ? [] : [body.name]);
    if (names.length === 0) unprocessable('name is required');
    if (names.length > 10) unprocessable('You can create at most 10 droplets at once.');
    const region = doRegions.find((r) => r.slug === (body.region ?? 'nyc3'));
    if (!region) unprocessable('You specified an invalid region for Droplet creation.');
    const size = findSize(body.size) ?? unprocessable('You specified an invalid size for Droplet creation.');
    const image = state.findImage(body.image);
    if (!image || state.imageStatus(image) !== 'available')
      unprocessable('You specified an invalid image for Droplet creation.');
    if (!state.imageRegions(image).includes(region.slug))
      unprocessable(`The image ${image.id} is not available in the region ${region.slug}.`);
    if (c.backend.kind === 'qemu' && image.origin !== 'test-image')
      unprocessable(
        `The emulator's qemu machines boot only kola's test image (image ${c.testImageId}, kola-test-image-${c.flavor}); ` +
          `image ${image.id} is ${originWords[image.origin]}, which they cannot boot. Use --machines ssh or none for API-level tests.`,
      );
    const publicKeys = (body.ssh_keys ?? []).map(
      (k) => state.findKey(k)?.publicKey ?? unprocessable(`You specified an invalid SSH key: ${k}.`),
    );
    if (body.user_data !== undefined && Buffer.byteLength(body.user_data) > maxUserDataBytes)
      unprocessable('user_data is limited to 64 KiB.');
    const tags = body.tags ?? [];
    for (const tag of tags)
      if (!tagPattern.test(tag))
        unprocessable(
          `Tag "${tag}" is invalid: tags may contain letters, numbers, colons, dashes and underscores, 255 characters at most.`,
        );
    if (state.droplets.size + names.length > dropletLimit)
      unprocessable('creating this/these droplet(s) will exceed your droplet limit');
    return { names, region, size, image, publicKeys, tags };
  }

  function create(body: CreateBody, name: string, r: ReturnType<typeof resolve>): DropletRecord {
    const id = state.dropletId();
    const net = state.privateNetwork(r.region);
    const droplet = {
      id,
      name,
      region: r.region,
      size: r.size,
      image: state.imageJson(r.image),
      imageId: r.image.id,
      createdAt: new Date(),
      tags: [...new Set(r.tags)],
      ipv6: body.ipv6 ?? false,
      monitoring: body.monitoring ?? false,
      publicNetworking: body.public_networking ?? true,
      privateIp: state.privateAddress(r.region),
      publicIpv6: body.ipv6 ? state.ipv6Address(r.region, id) : undefined,
      userData: body.user_data,
      publicKeys: r.publicKeys,
      machine: undefined as BackendMachine | undefined,
      snapshotIds: [],
    } satisfies Partial<DropletRecord>;
    const metadata = createDoMetadataHandler(() => ({
      id,
      hostname: record.name,
      userData: record.userData,
      vendorData: doVendorData,
      publicKeys: record.publicKeys,
      region: record.region.slug,
      tags: record.tags,
      publicIpv4: record.publicNetworking ? record.machine?.sshHost : undefined,
      privateIpv4: record.privateIp,
      privateNetmask: net.netmask,
      publicIpv6: record.publicIpv6,
    }));
    const record: DropletRecord = {
      ...droplet,
      metadata,
      // replaced below, once the record exists for the metadata service to read
      boot: DoProgress.done(0),
      starting: Promise.resolve(undefined),
    };
    const started = c.backend
      .start({
        instanceId: String(id),
        provider: 'do',
        metadata,
        network: `vpc-${r.region.slug}`,
        privateIp: droplet.privateIp,
        flavor: c.flavor,
        signal: c.signal,
      })
      .then((machine) => {
        record.machine = machine;
        machine.onGuestPowerOff(() => c.log(`do: droplet ${id} (${name}) powered itself off: status off`));
        c.log(
          `do: droplet ${id} (${name}) is a ${c.backend.kind} machine at ${machine.sshHost}:${machine.sshPort}`,
        );
        return machine;
      });
    // a droplet whose machine does not start is gone, and its create action errored
    record.boot = new DoProgress(started, c.timing.bootMs, (message) => {
      state.droplets.delete(id);
      c.log(`do: droplet ${id} (${name}): the machine did not start: ${message}`);
    });
    record.starting = started.catch(() => undefined);
    state.droplets.set(id, record);
    state.addAction({
      type: 'create',
      resourceId: id,
      resourceType: 'droplet',
      region: r.region,
      progress: record.boot,
    });
    return record;
  }

  /** Gone from the API at once; the machine is terminated before the answer. */
  async function destroy(droplet: DropletRecord): Promise<void> {
    state.droplets.delete(droplet.id);
    const machine = await droplet.starting;
    await machine?.terminate();
  }

  const actionLinks = (ctx: { baseUrl: string }, droplets: DropletRecord[], rel: string) =>
    droplets.map((d) => {
      const action = [...state.actions.values()].find((a) => a.resourceId === d.id && a.type === 'create')!;
      return { id: action.id, rel, href: `${ctx.baseUrl}/v2/actions/${action.id}` };
    });

  return [
    route(
      'POST',
      '/v2/droplets',
      (ctx) => {
        const body = ctx.body as CreateBody;
        const resolved = resolve(body);
        state.addTags(resolved.tags);
        const made = resolved.names.map((name) => create(body, name, resolved));
        if (body.names)
          return reply(202, {
            droplets: made.map((d) => state.dropletJson(d)),
            links: { actions: actionLinks(ctx, made, 'multiple_create') },
          });
        return reply(202, {
          droplet: state.dropletJson(made[0]!),
          links: { actions: actionLinks(ctx, made, 'create') },
        });
      },
      { operationId: 'droplets_create' },
    ),
    route(
      'GET',
      '/v2/droplets',
      (ctx) => {
        const tag = ctx.query.get('tag_name');
        const name = ctx.query.get('name');
        const gpus = ctx.query.get('type') === 'gpus';
        const droplets = [...state.droplets.values()].filter(
          (d) => !gpus && (tag === null || d.tags.includes(tag)) && (name === null || d.name === name),
        );
        return listReply(
          'droplets',
          droplets.map((d) => state.dropletJson(d)),
          ctx,
        );
      },
      { operationId: 'droplets_list' },
    ),
    route(
      'DELETE',
      '/v2/droplets',
      async (ctx) => {
        const tag = ctx.query.get('tag_name') ?? '';
        await Promise.all([...state.droplets.values()].filter((d) => d.tags.includes(tag)).map(destroy));
        return reply(204);
      },
      { operationId: 'droplets_destroy_byTag' },
    ),
    route(
      'GET',
      '/v2/droplets/{droplet_id}',
      (ctx) => reply(200, { droplet: state.dropletJson(find(ctx.params.droplet_id)) }),
      { operationId: 'droplets_get' },
    ),
    route(
      'DELETE',
      '/v2/droplets/{droplet_id}',
      async (ctx) => {
        await destroy(find(ctx.params.droplet_id));
        return reply(204);
      },
      { operationId: 'droplets_destroy' },
    ),
    route(
      'POST',
      '/v2/droplets/{droplet_id}/actions',
      (ctx) => {
        const droplet = find(ctx.params.droplet_id);
        const body = ctx.body as { type: string; name?: string };
        const action = dropletAction(c, droplet, body);
        return reply(201, { action: state.actionJson(action) });
      },
      { operationId: 'dropletActions_post' },
    ),
    route(
      'GET',
      '/v2/droplets/{droplet_id}/actions',
      (ctx) => {
        const droplet = find(ctx.params.droplet_id);
        const actions = [...state.actions.values()]
          .filter((a) => a.resourceType === 'droplet' && a.resourceId === droplet.id)
          .reverse();
        return listReply(
          'actions',
          actions.map((a) => state.actionJson(a)),
          ctx,
        );
      },
      { operationId: 'dropletActions_list' },
    ),
    route(
      'GET',
      '/v2/droplets/{droplet_id}/actions/{action_id}',
      (ctx) =>
        state.actionReply(state.actionOf('droplet', find(ctx.params.droplet_id).id, ctx.params.action_id)),
      { operationId: 'dropletActions_get' },
    ),
    route(
      'GET',
      '/v2/actions/{action_id}',
      (ctx) => state.actionReply(state.actions.get(Number(ctx.params.action_id))),
      { operationId: 'actions_get' },
    ),
  ];
}

/**
 * A droplet action: refused as the API refuses it (one pending event at a time, nothing on a droplet
 * still being made, power_on of an active droplet…), else it acts on the machine and completes once
 * the machine has done it. A snapshot makes an image (type `snapshot`) once its action completes.
 */
function dropletAction(c: DoContext, droplet: DropletRecord, body: { type: string; name?: string }) {
  const { state } = c;
  const status = state.dropletStatus(droplet);
  const machine = droplet.machine;
  if (status === 'new' || !machine) unprocessable('Droplet is not yet active: it is still being created.');
  const pending = [...state.actions.values()].some(
    (a) => a.resourceType === 'droplet' && a.resourceId === droplet.id && a.progress.status === 'in-progress',
  );
  if (pending) unprocessable('Droplet already has a pending event.');
  const off = status === 'off';
  let work: () => Promise<void>;
  let snapshotId: number | undefined;
  switch (body.type) {
    case 'power_off':
    case 'shutdown':
      if (off) unprocessable('Droplet is already powered off.');
      work = () => machine.stop();
      break;
    case 'power_on':
      if (!off) unprocessable('Droplet is already powered on.');
      work = () => machine.start();
      break;
    case 'reboot':
      if (off) unprocessable('Droplet is powered off: use power_on.');
      work = () => machine.reboot();
      break;
    case 'power_cycle':
      work = async () => {
        if (machine.state === 'running') await machine.stop();
        await machine.start();
      };
      break;
    case 'snapshot': {
      snapshotId = state.imageId();
      const id = snapshotId;
      // a powered-off qemu droplet's disk is what the snapshot holds; a running one's is not copied
      // (it changes as it is read), nor a disk the backend does not have
      work =
        off && c.backend.kind === 'qemu'
          ? async () => {
              const path = join(c.snapshotDir(), `snapshot-${id}.raw`);
              await machine.exportDisk(path, c.signal);
              const image = state.images.get(id);
              if (image) image.disk = path;
              else rmSync(path, { force: true });
            }
          : async () => {};
      break;
    }
    default:
      unprocessable(`The emulator does not implement the ${body.type} droplet action.`);
  }
  const progress = new DoProgress(work(), c.timing.actionMs, (message) =>
    c.log(`do: droplet ${droplet.id}: ${body.type} failed: ${message}`),
  );
  const action = state.addAction({
    type: body.type,
    resourceId: droplet.id,
    resourceType: 'droplet',
    region: droplet.region,
    progress,
  });
  if (snapshotId !== undefined) {
    const source = state.images.get(droplet.imageId);
    const image: ImageRecord = {
      id: snapshotId,
      name: body.name ?? `${droplet.name}-${Date.now()}`,
      type: 'snapshot',
      distribution: source?.distribution ?? 'Unknown',
      slug: null,
      public: false,
      regions: [droplet.region.slug],
      transfers: [],
      createdAt: new Date(),
      minDiskSize: droplet.size.disk,
      sizeGigabytes: source?.sizeGigabytes ?? 1,
      description: '',
      tags: [],
      origin: 'snapshot',
      progress,
      snapshotOf: droplet.id,
    };
    state.images.set(image.id, image);
    droplet.snapshotIds.push(image.id);
  }
  return action;
}
