import { setTimeout as sleep } from 'node:timers/promises';
import { paginateGoogle } from '../http/pagination.js';
import { type FakeReply, type Route, type RouteContext, reply, route } from '../http/routes.js';
import type { BackendMachine, MachineBackend } from '../machines/backend.js';
import type { TokenService } from './auth.js';
import { fail } from './errors.js';
import { parseFilter, sortBy } from './filter.js';
import { checkDiskArchive, InvalidImageArchive } from './image-archive.js';
import { createGceMetadataHandler, type GceMetadataView } from './metadata.js';
import { type Operation, OperationError, type Operations } from './operations.js';
import {
  checkLabels,
  checkMetadata,
  checkName,
  diskTypes,
  fingerprint,
  type MachineType,
  type MetadataItem,
  machineTypes,
  newId,
  regionOf,
  resourcePath,
  zones,
} from './resources.js';
import type { GcsStore } from './storage.js';

type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

interface AttachedDisk {
  disk: string;
  deviceName: string;
  boot: boolean;
  autoDelete: boolean;
  mode: 'READ_WRITE' | 'READ_ONLY';
  index: number;
}

interface Instance {
  id: string;
  name: string;
  zone: string;
  creationTimestamp: string;
  description: string;
  machineType: MachineType;
  status: InstanceStatus;
  labels: Record<string, string>;
  metadata: MetadataItem[];
  tags: string[];
  networkIP: string;
  network: string;
  external: boolean;
  disks: AttachedDisk[];
  serviceAccounts: { email: string; scopes: string[] }[];
  image: string;
  preemptible: boolean;
  deletionProtection: boolean;
  lastStartTimestamp?: string;
  lastStopTimestamp?: string;
  machine?: BackendMachine;
  /** Lifecycle operations of one instance run one after the other, as GCE serialises them. */
  queue: Promise<void>;
  deleting: boolean;
  listeners: Set<() => void>;
}

interface Disk {
  id: string;
  name: string;
  zone: string;
  creationTimestamp: string;
  sizeGb: number;
  type: string;
  sourceImage?: string;
  sourceImageId?: string;
  users: string[];
  labels: Record<string, string>;
  status: 'CREATING' | 'READY' | 'DELETING';
}

interface Image {
  id: string;
  name: string;
  creationTimestamp: string;
  description?: string;
  family?: string;
  labels: Record<string, string>;
  licenses: string[];
  guestOsFeatures: { type: string }[];
  rawDiskSource?: string;
  status: 'PENDING' | 'READY' | 'FAILED' | 'DELETING';
  archiveSizeBytes?: number;
  diskSizeGb: number;
  deprecated?: unknown;
}

// The request bodies' parts read here (the spec validator has checked their types when it is on).
interface DiskBody {
  boot?: boolean;
  autoDelete?: boolean;
  mode?: string;
  deviceName?: string;
  source?: string;
  initializeParams?: {
    diskName?: string;
    sourceImage?: string;
    diskType?: string;
    diskSizeGb?: string;
    labels?: unknown;
  };
}
interface InstanceBody {
  name?: unknown;
  machineType?: string;
  description?: string;
  labels?: unknown;
  metadata?: unknown;
  tags?: { items?: string[] };
  networkInterfaces?: { network?: string; accessConfigs?: { type?: string; natIP?: string }[] }[];
  disks?: DiskBody[];
  serviceAccounts?: { email?: string; scopes?: string[] }[];
  scheduling?: { preemptible?: boolean };
  deletionProtection?: boolean;
}
interface ImageBody {
  name?: unknown;
  rawDisk?: { source?: unknown };
  sourceDisk?: unknown;
  sourceImage?: unknown;
  sourceSnapshot?: unknown;
  family?: unknown;
  description?: unknown;
  labels?: unknown;
  licenses?: unknown[];
  guestOsFeatures?: { type?: unknown }[];
}

export interface ComputeSettings {
  project: string;
  projectNumber: string;
  backend: MachineBackend;
  flavor?: 'minimal' | 'systemd';
  store: GcsStore;
  tokens: TokenService;
  operations: Operations;
  /** Per region: CPUs of instances not TERMINATED beyond this end the insert with QUOTA_EXCEEDED. */
  cpuQuota?: number;
  /** The emulator's origin, which `rawDisk.source` may also name (besides storage.googleapis.com). */
  origin: () => string;
  log: (line: string) => void;
  signal: AbortSignal;
}

const serialBufferBytes = 1024 * 1024;
const waitMs = 120_000;
const gib = 1024 ** 3;

/**
 * Compute Engine v1 for one project: instances (each a machine of the backend, with its metadata
 * server), their boot disks, images made from Cloud Storage archives, zone and global operations,
 * zones, machine types and the project. Resources answer as GCE's do (selfLinks at the emulator's
 * own URL); failures GCE reports synchronously are HTTP errors, the others end the operation.
 */
export function createCompute(settings: ComputeSettings) {
  const { project, operations: ops } = settings;
  const instances = new Map<string, Instance>(); // `${zone}/${name}`
  const disks = new Map<string, Disk>();
  const images = new Map<string, Image>();
  const requestIds = new Map<string, Operation>();
  const usedIps = new Set<number>();

  const projectUrl = (ctx: Pick<RouteContext, 'baseUrl'>) => `${ctx.baseUrl}/compute/v1/projects/${project}`;
  const checkProject = (name: string) => {
    if (name !== project && name !== settings.projectNumber)
      fail(404, 'notFound', `The resource 'projects/${name}' was not found`);
  };
  const checkZone = (zone: string) => {
    if (!(zones as readonly string[]).includes(zone))
      fail(404, 'notFound', `The resource 'projects/${project}/zones/${zone}' was not found`);
  };
  const scoped = (ctx: RouteContext<{ project: string; zone?: string }>) => {
    checkProject(ctx.params.project);
    if (ctx.params.zone !== undefined) checkZone(ctx.params.zone);
  };
  const notFound = (path: string): never =>
    fail(404, 'notFound', `The resource 'projects/${project}/${path}' was not found`);
  const instanceOf = (zone: string, name: string) =>
    instances.get(`${zone}/${name}`) ?? notFound(`zones/${zone}/instances/${name}`);

  /** An operation, once per requestId (GCE's idempotent retries). */
  const operation = (
    ctx: RouteContext<unknown>,
    fields: Parameters<Operations['start']>[0],
    work: () => Promise<void>,
  ): FakeReply => {
    const requestId = ctx.query.get('requestId');
    const earlier = requestId ? requestIds.get(requestId) : undefined;
    const op = earlier ?? ops.start(fields, work);
    if (requestId) requestIds.set(requestId, op);
    return reply(200, ops.render(op, projectUrl(ctx)));
  };

  const allocateIp = (): number => {
    for (let n = 2; n < 4094; n++)
      if (!usedIps.has(n)) {
        usedIps.add(n);
        return n;
      }
    throw new OperationError('IP_SPACE_EXHAUSTED', 'The subnetwork default has no free addresses.', 400);
  };
  const ipText = (n: number) => `10.128.${n >> 8}.${n & 255}`;
  const macOf = (ip: string) =>
    ['42', '01', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');

  // ---- rendering --------------------------------------------------------------------------------

  const zoneResource = (ctx: RouteContext<unknown>, zone: string, i: number) => ({
    kind: 'compute#zone',
    id: String(2000 + i),
    creationTimestamp: '1969-12-31T16:00:00.000-08:00',
    name: zone,
    description: zone,
    status: 'UP',
    region: `${projectUrl(ctx)}/regions/${regionOf(zone)}`,
    selfLink: `${projectUrl(ctx)}/zones/${zone}`,
    availableCpuPlatforms: ['Intel Broadwell', 'Intel Skylake', 'AMD Milan'],
    supportsPzs: false,
  });

  const machineTypeResource = (ctx: RouteContext<unknown>, zone: string, t: MachineType) => ({
    kind: 'compute#machineType',
    id: String(3000 + machineTypes.indexOf(t)),
    creationTimestamp: '1969-12-31T16:00:00.000-08:00',
    name: t.name,
    description: `${t.guestCpus} vCPU${t.guestCpus > 1 ? 's' : ''}, ${(t.memoryMb / 1024).toFixed(1)} GB RAM`,
    guestCpus: t.guestCpus,
    memoryMb: t.memoryMb,
    imageSpaceGb: 0,
    maximumPersistentDisks: t.isSharedCpu ? 16 : 128,
    maximumPersistentDisksSizeGb: t.isSharedCpu ? '3072' : '263168',
    zone,
    selfLink: `${projectUrl(ctx)}/zones/${zone}/machineTypes/${t.name}`,
    isSharedCpu: t.isSharedCpu,
  });

  const metadataOf = (items: MetadataItem[]) => ({
    kind: 'compute#metadata',
    fingerprint: fingerprint(items),
    ...(items.length ? { items } : {}),
  });

  const instanceResource = (ctx: RouteContext<unknown>, i: Instance) => {
    const base = projectUrl(ctx);
    const natIP = i.external && i.status !== 'TERMINATED' ? i.machine?.sshHost : undefined;
    return {
      kind: 'compute#instance',
      id: i.id,
      creationTimestamp: i.creationTimestamp,
      name: i.name,
      description: i.description,
      tags: { fingerprint: fingerprint(i.tags), ...(i.tags.length ? { items: i.tags } : {}) },
      machineType: `${base}/zones/${i.zone}/machineTypes/${i.machineType.name}`,
      status: i.status,
      zone: `${base}/zones/${i.zone}`,
      canIpForward: false,
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network: `${base}/global/networks/${i.network}`,
          subnetwork: `${base}/regions/${regionOf(i.zone)}/subnetworks/${i.network}`,
          networkIP: i.networkIP,
          name: 'nic0',
          fingerprint: fingerprint([i.networkIP, i.external]),
          stackType: 'IPV4_ONLY',
          ...(i.external
            ? {
                accessConfigs: [
                  {
                    kind: 'compute#accessConfig',
                    type: 'ONE_TO_ONE_NAT',
                    name: 'External NAT',
                    ...(natIP ? { natIP } : {}),
                    networkTier: 'PREMIUM',
                  },
                ],
              }
            : {}),
        },
      ],
      disks: i.disks.map((d) => {
        const disk = disks.get(`${i.zone}/${d.disk}`);
        return {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: d.mode,
          source: `${base}/zones/${i.zone}/disks/${d.disk}`,
          deviceName: d.deviceName,
          index: d.index,
          boot: d.boot,
          autoDelete: d.autoDelete,
          interface: 'SCSI',
          ...(disk ? { diskSizeGb: String(disk.sizeGb) } : {}),
          ...(d.boot ? { guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }] } : {}),
        };
      }),
      metadata: metadataOf(i.metadata),
      serviceAccounts: i.serviceAccounts,
      selfLink: `${base}/zones/${i.zone}/instances/${i.name}`,
      scheduling: {
        onHostMaintenance: i.preemptible ? 'TERMINATE' : 'MIGRATE',
        automaticRestart: !i.preemptible,
        preemptible: i.preemptible,
        provisioningModel: i.preemptible ? 'SPOT' : 'STANDARD',
      },
      cpuPlatform: 'Intel Broadwell',
      labels: i.labels,
      labelFingerprint: fingerprint(i.labels),
      startRestricted: false,
      deletionProtection: i.deletionProtection,
      fingerprint: fingerprint([i.id, i.status]),
      ...(i.lastStartTimestamp ? { lastStartTimestamp: i.lastStartTimestamp } : {}),
      ...(i.lastStopTimestamp ? { lastStopTimestamp: i.lastStopTimestamp } : {}),
    };
  };

  const diskResource = (ctx: RouteContext<unknown>, d: Disk) => {
    const base = projectUrl(ctx);
    return {
      kind: 'compute#disk',
      id: d.id,
      creationTimestamp: d.creationTimestamp,
      name: d.name,
      sizeGb: String(d.sizeGb),
      zone: `${base}/zones/${d.zone}`,
      status: d.status,
      selfLink: `${base}/zones/${d.zone}/disks/${d.name}`,
      ...(d.sourceImage ? { sourceImage: `${base}/${d.sourceImage}`, sourceImageId: d.sourceImageId } : {}),
      type: `${base}/zones/${d.zone}/diskTypes/${d.type}`,
      ...(d.users.length ? { users: d.users.map((u) => `${base}/${u}`) } : {}),
      labels: d.labels,
      labelFingerprint: fingerprint(d.labels),
      physicalBlockSizeBytes: '4096',
    };
  };

  const imageResource = (ctx: RouteContext<unknown>, im: Image) => ({
    kind: 'compute#image',
    id: im.id,
    creationTimestamp: im.creationTimestamp,
    name: im.name,
    ...(im.description !== undefined ? { description: im.description } : {}),
    sourceType: 'RAW',
    ...(im.rawDiskSource ? { rawDisk: { source: im.rawDiskSource, containerType: 'TAR' } } : {}),
    status: im.status,
    ...(im.archiveSizeBytes !== undefined ? { archiveSizeBytes: String(im.archiveSizeBytes) } : {}),
    diskSizeGb: String(im.diskSizeGb),
    ...(im.family ? { family: im.family } : {}),
    ...(im.licenses.length ? { licenses: im.licenses } : {}),
    ...(im.guestOsFeatures.length ? { guestOsFeatures: im.guestOsFeatures } : {}),
    ...(im.deprecated ? { deprecated: im.deprecated } : {}),
    labels: im.labels,
    labelFingerprint: fingerprint(im.labels),
    selfLink: `${projectUrl(ctx)}/global/images/${im.name}`,
    storageLocations: ['us'],
    architecture: 'X86_64',
  });

  /** A list answer: filter, orderBy, then maxResults/pageToken, over the rendered resources. */
  const listOf = <T extends { name: string; creationTimestamp: string }>(
    ctx: RouteContext<unknown>,
    kind: string,
    selfLink: string,
    items: T[],
  ) => {
    const predicate = parseFilter(ctx.query.get('filter'));
    const page = paginateGoogle(
      sortBy(
        items.filter((r) => predicate(r)),
        ctx.query.get('orderBy'),
      ),
      ctx,
    );
    return reply(200, {
      kind,
      id: selfLink.replace(/^.*\/compute\/v1\//, ''),
      items: page.items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink,
    });
  };

  // ---- instances ---------------------------------------------------------------------------------

  const metadataView = (i: Instance): GceMetadataView => ({
    instance: {
      id: i.id,
      name: i.name,
      zone: i.zone,
      machineType: i.machineType.name,
      description: i.description,
      image: `projects/${project}/${i.image}`,
      tags: i.tags,
      attributes: Object.fromEntries(i.metadata.map(({ key, value }) => [key, value])),
      networkIP: i.networkIP,
      network: i.network,
      mac: macOf(i.networkIP),
      natIP: i.external ? i.machine?.sshHost : undefined,
      disks: i.disks.map((d) => ({
        deviceName: d.deviceName,
        index: d.index,
        mode: d.mode,
        type: 'PERSISTENT',
      })),
      serviceAccounts: i.serviceAccounts,
      preemptible: i.preemptible,
    },
    project: { id: project, number: settings.projectNumber, attributes: {} },
  });

  const notify = (i: Instance) => {
    for (const listener of [...i.listeners]) listener();
  };

  /** Runs `work` after the instance's earlier lifecycle operations. */
  const queued = (i: Instance, work: () => Promise<void>) => {
    const run = i.queue.then(work);
    i.queue = run.catch(() => {});
    return run;
  };

  const findImage = (reference: string, field: string): Image => {
    const { project: owner, path } = resourcePath(reference, project);
    const family = /^global\/images\/family\/([^/]+)$/.exec(path);
    const named = /^global\/images\/([^/]+)$/.exec(path);
    if (owner !== project || (!family && !named))
      fail(
        owner !== project ? 404 : 400,
        owner !== project ? 'notFound' : 'invalid',
        owner !== project
          ? `The resource 'projects/${owner}/${path}' was not found`
          : `Invalid value for field '${field}': '${reference}'. The URL is malformed.`,
      );
    const image = family ? newestOf(family[1]!) : images.get(named![1]!);
    if (!image) return notFound(path);
    if (image.status !== 'READY')
      fail(
        400,
        'resourceNotReady',
        `The resource 'projects/${project}/global/images/${image.name}' is not ready`,
      );
    return image;
  };

  const newestOf = (family: string) =>
    [...images.values()]
      .filter((im) => im.family === family && im.status === 'READY' && !im.deprecated)
      .sort((a, b) => (a.creationTimestamp < b.creationTimestamp ? 1 : -1))[0];

  const cpusInUse = (region: string) =>
    [...instances.values()]
      .filter((i) => regionOf(i.zone) === region && i.status !== 'TERMINATED' && !i.deleting)
      .reduce((n, i) => n + i.machineType.guestCpus, 0);

  const removeInstance = (i: Instance) => {
    instances.delete(`${i.zone}/${i.name}`);
    usedIps.delete(
      i.networkIP
        .split('.')
        .slice(2)
        .reduce((n, o) => n * 256 + Number(o), 0),
    );
    for (const d of i.disks) {
      const disk = disks.get(`${i.zone}/${d.disk}`);
      if (!disk) continue;
      if (d.autoDelete) disks.delete(`${i.zone}/${d.disk}`);
      else disk.users = disk.users.filter((u) => u !== `zones/${i.zone}/instances/${i.name}`);
    }
    notify(i);
  };

  async function insertInstance(ctx: RouteContext<{ project: string; zone: string }>): Promise<FakeReply> {
    scoped(ctx);
    const zone = ctx.params.zone;
    const body = ctx.body as InstanceBody;
    const name = checkName('resource.name', body.name);
    if (instances.has(`${zone}/${name}`))
      fail(
        409,
        'alreadyExists',
        `The resource 'projects/${project}/zones/${zone}/instances/${name}' already exists`,
      );
    if (!body.machineType)
      fail(
        400,
        'invalid',
        "Invalid value for field 'resource.machineType': ''. Machine type must be specified.",
      );
    const mt = resourcePath(String(body.machineType), project);
    const mtMatch = /^zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(mt.path);
    const machineType = machineTypes.find((t) => t.name === mtMatch?.[2]);
    if (!mtMatch || mtMatch[1] !== zone || mt.project !== project || !machineType)
      fail(
        400,
        'invalid',
        `Invalid value for field 'resource.machineType': '${body.machineType}'. Machine type with name '${mtMatch?.[2] ?? body.machineType}' does not exist in zone '${zone}'.`,
      );
    const labels = checkLabels('resource.labels', body.labels);
    const metadata = checkMetadata('resource.metadata', body.metadata);
    const nics = body.networkInterfaces ?? [];
    if (nics.length !== 1)
      fail(
        400,
        'invalid',
        `Invalid value for field 'resource.networkInterfaces': the emulator gives an instance exactly one network interface, not ${nics.length}.`,
      );
    const nic = nics[0]!;
    const network =
      /(?:^|\/)networks\/([^/]+)$/.exec(String(nic.network ?? 'global/networks/default'))?.[1] ?? 'default';
    const accessConfigs = nic.accessConfigs ?? [];
    if (accessConfigs.some((a) => a.natIP))
      fail(
        400,
        'invalid',
        "Invalid value for field 'resource.networkInterfaces[0].accessConfigs[0].natIP': static addresses are not emulated.",
      );
    if (accessConfigs.some((a) => a.type !== undefined && a.type !== 'ONE_TO_ONE_NAT'))
      fail(
        400,
        'invalid',
        "Invalid value for field 'resource.networkInterfaces[0].accessConfigs[0].type': must be ONE_TO_ONE_NAT.",
      );

    // disks: the boot disk and any others, created from their image or attached
    const attached: AttachedDisk[] = [];
    const created: Disk[] = [];
    let image = '';
    const requested = body.disks ?? [];
    if (requested.filter((d) => d.boot).length !== 1)
      fail(
        400,
        'invalid',
        "Invalid value for field 'resource.disks': exactly one disk must be the boot disk.",
      );
    for (const [index, d] of requested.entries()) {
      const field = `resource.disks[${index}]`;
      const init = d.initializeParams;
      let diskName: string;
      if (init) {
        diskName = checkName(
          `${field}.initializeParams.diskName`,
          init.diskName ?? (d.boot ? name : `${name}-${index}`),
        );
        if (disks.has(`${zone}/${diskName}`) || created.some((c) => c.name === diskName))
          fail(
            409,
            'alreadyExists',
            `The resource 'projects/${project}/zones/${zone}/disks/${diskName}' already exists`,
          );
        let source: Image | undefined;
        if (init.sourceImage)
          source = findImage(String(init.sourceImage), `${field}.initializeParams.sourceImage`);
        else if (d.boot)
          fail(
            400,
            'invalid',
            `Invalid value for field '${field}.initializeParams.sourceImage': ''. A boot disk needs a source image.`,
          );
        const typePath = resourcePath(
          String(init.diskType ?? `zones/${zone}/diskTypes/pd-standard`),
          project,
        ).path;
        const type = /^zones\/([^/]+)\/diskTypes\/([^/]+)$/.exec(typePath);
        if (!type || type[1] !== zone || !(diskTypes as readonly string[]).includes(type[2]!))
          fail(
            400,
            'invalid',
            `Invalid value for field '${field}.initializeParams.diskType': '${init.diskType}'. The disk type does not exist in zone '${zone}'.`,
          );
        const sizeGb = init.diskSizeGb === undefined ? (source?.diskSizeGb ?? 10) : Number(init.diskSizeGb);
        if (source && sizeGb < source.diskSizeGb)
          fail(
            400,
            'invalid',
            `Invalid value for field '${field}.initializeParams.diskSizeGb': '${sizeGb}'. Requested disk size cannot be smaller than the image size (${source.diskSizeGb} GB)`,
          );
        if (source && d.boot) image = `global/images/${source.name}`;
        created.push({
          id: newId(),
          name: diskName,
          zone,
          creationTimestamp: new Date().toISOString(),
          sizeGb,
          type: type![2]!,
          ...(source ? { sourceImage: `global/images/${source.name}`, sourceImageId: source.id } : {}),
          users: [`zones/${zone}/instances/${name}`],
          labels: checkLabels(`${field}.initializeParams.labels`, init.labels),
          status: 'CREATING',
        });
      } else if (d.source) {
        const path = resourcePath(String(d.source), project).path;
        const m = /^zones\/([^/]+)\/disks\/([^/]+)$/.exec(path);
        const disk = m && m[1] === zone ? disks.get(`${zone}/${m[2]}`) : undefined;
        if (!disk) return notFound(path);
        if (disk.users.length)
          fail(
            400,
            'resourceInUseByAnotherResource',
            `The disk resource 'projects/${project}/zones/${zone}/disks/${disk.name}' is already being used by 'projects/${project}/${disk.users[0]}'`,
          );
        diskName = disk.name;
        if (d.boot) image = disk.sourceImage ?? '';
      } else {
        return fail(
          400,
          'invalid',
          `Invalid value for field '${field}': a disk needs initializeParams or a source.`,
        );
      }
      attached.push({
        disk: diskName,
        deviceName: String(d.deviceName ?? (d.boot ? 'persistent-disk-0' : `persistent-disk-${index}`)),
        boot: d.boot === true,
        autoDelete: d.autoDelete === true,
        mode: d.mode === 'READ_ONLY' ? 'READ_ONLY' : 'READ_WRITE',
        index,
      });
    }

    const serviceAccounts = ((body.serviceAccounts ?? []) as { email?: string; scopes?: string[] }[]).map(
      (a) => ({
        email:
          !a.email || a.email === 'default'
            ? `${settings.projectNumber}-compute@developer.gserviceaccount.com`
            : a.email,
        scopes: a.scopes ?? [],
      }),
    );
    const ip = allocateIp();
    const instance: Instance = {
      id: newId(),
      name,
      zone,
      creationTimestamp: new Date().toISOString(),
      description: String(body.description ?? ''),
      machineType,
      status: 'PROVISIONING',
      labels,
      metadata,
      tags: ((body.tags as { items?: string[] } | undefined)?.items ?? []).map(String),
      networkIP: ipText(ip),
      network,
      external: accessConfigs.length > 0,
      disks: attached,
      serviceAccounts,
      image,
      preemptible: body.scheduling?.preemptible === true,
      deletionProtection: body.deletionProtection === true,
      queue: Promise.resolve(),
      deleting: false,
      listeners: new Set(),
    };
    for (const d of created) disks.set(`${zone}/${d.name}`, d);
    for (const d of attached) {
      const disk = disks.get(`${zone}/${d.disk}`)!;
      if (!disk.users.includes(`zones/${zone}/instances/${name}`))
        disk.users.push(`zones/${zone}/instances/${name}`);
    }
    // counted against the quota before it is in the map, so concurrent inserts see each other
    const region = regionOf(zone);
    const overQuota =
      settings.cpuQuota !== undefined && cpusInUse(region) + machineType.guestCpus > settings.cpuQuota;
    instances.set(`${zone}/${name}`, instance);

    return operation(
      ctx,
      { zone, operationType: 'insert', targetPath: `zones/${zone}/instances/${name}`, targetId: instance.id },
      () =>
        queued(instance, async () => {
          try {
            if (overQuota)
              throw new OperationError(
                'QUOTA_EXCEEDED',
                `Quota 'CPUS' exceeded.  Limit: ${settings.cpuQuota}.0 in region ${region}.`,
                403,
              );
            for (const d of created) d.status = 'READY';
            instance.status = 'STAGING';
            const handler = createGceMetadataHandler(() => metadataView(instance), {
              token: (scopes) => settings.tokens.issue(scopes),
              subscribe: (listener) => {
                instance.listeners.add(listener);
                return () => instance.listeners.delete(listener);
              },
            });
            try {
              instance.machine = await settings.backend.start({
                instanceId: instance.id,
                provider: 'gce',
                metadata: handler,
                network,
                privateIp: instance.networkIP,
                ...(settings.flavor ? { flavor: settings.flavor } : {}),
                signal: settings.signal,
              });
            } catch (e) {
              throw new OperationError(
                'ZONE_RESOURCE_POOL_EXHAUSTED',
                `The zone '${zone}' cannot start this instance now: the emulator's ${settings.backend.kind} machine did not start (${e instanceof Error ? e.message : String(e)}).`,
                503,
              );
            }
            if (settings.signal.aborted) {
              await instance.machine.terminate();
              throw new OperationError('INTERNAL_ERROR', 'the emulator stopped', 500);
            }
            instance.status = 'RUNNING';
            instance.lastStartTimestamp = new Date().toISOString();
            settings.log(
              `gce: ${zone}/${name} (${instance.id}) is a ${settings.backend.kind} machine at ${instance.machine.sshHost}:${instance.machine.sshPort}`,
            );
          } catch (e) {
            // nothing of a failed insert is left: not the instance, not its new disks
            instance.deleting = true;
            for (const d of attached) if (created.some((c) => c.name === d.disk)) d.autoDelete = true;
            removeInstance(instance);
            throw e;
          }
        }),
    );
  }

  /** stop/start/reset/delete: an operation that acts on the instance's machine in its turn. */
  const lifecycle = (kind: 'stop' | 'start' | 'reset' | 'delete', work: (i: Instance) => Promise<void>) =>
    ((ctx: RouteContext<{ project: string; zone: string; instance: string }>) => {
      scoped(ctx);
      const i = instanceOf(ctx.params.zone, ctx.params.instance);
      if (kind === 'reset' && i.status !== 'RUNNING')
        fail(
          400,
          'resourceNotReady',
          `The resource 'projects/${project}/zones/${i.zone}/instances/${i.name}' is not ready`,
        );
      if (kind === 'delete' && i.deletionProtection)
        fail(400, 'resourceIsProtected', `Resource cannot be deleted if it's protected against deletion.`);
      if (kind === 'delete') i.deleting = true;
      return operation(
        ctx,
        {
          zone: i.zone,
          operationType: kind,
          targetPath: `zones/${i.zone}/instances/${i.name}`,
          targetId: i.id,
        },
        () => queued(i, () => work(i)),
      );
    }) as (ctx: RouteContext<Record<string, string>>) => FakeReply;

  const stop = lifecycle('stop', async (i) => {
    if (i.status !== 'RUNNING') return;
    i.status = 'STOPPING';
    await i.machine?.stop();
    i.status = 'TERMINATED';
    i.lastStopTimestamp = new Date().toISOString();
  });
  const start = lifecycle('start', async (i) => {
    if (i.status !== 'TERMINATED') return;
    const region = regionOf(i.zone);
    if (settings.cpuQuota !== undefined && cpusInUse(region) + i.machineType.guestCpus > settings.cpuQuota)
      throw new OperationError(
        'QUOTA_EXCEEDED',
        `Quota 'CPUS' exceeded.  Limit: ${settings.cpuQuota}.0 in region ${region}.`,
        403,
      );
    i.status = 'STAGING';
    await i.machine?.start();
    i.status = 'RUNNING';
    i.lastStartTimestamp = new Date().toISOString();
  });
  const reset = lifecycle('reset', async (i) => {
    await i.machine?.reboot();
  });
  const remove = lifecycle('delete', async (i) => {
    i.status = 'STOPPING';
    await i.machine?.terminate();
    removeInstance(i);
  });

  const serialPortOutput = (ctx: RouteContext<{ project: string; zone: string; instance: string }>) => {
    scoped(ctx);
    const i = instanceOf(ctx.params.zone, ctx.params.instance);
    const port = Number(ctx.query.get('port') ?? '1');
    if (!Number.isInteger(port) || port < 1 || port > 4)
      fail(
        400,
        'invalid',
        `Invalid value for field 'port': '${ctx.query.get('port')}'. Must be between 1 and 4.`,
      );
    const all = Buffer.from(port === 1 ? (i.machine?.consoleOutput() ?? '') : '', 'utf8');
    const total = all.length;
    const oldest = Math.max(0, total - serialBufferBytes);
    const asked = Number(ctx.query.get('start') ?? '0');
    if (!Number.isSafeInteger(asked))
      fail(400, 'invalid', `Invalid value for field 'start': '${ctx.query.get('start')}'.`);
    let from = asked < 0 ? Math.max(oldest, total + asked) : Math.max(asked, oldest);
    // a start inside a character (after the buffer dropped its beginning) moves to the next one
    while (from < total && (all[from]! & 0xc0) === 0x80) from++;
    const contents = from < total ? all.subarray(from).toString('utf8') : '';
    const next = Math.max(from, total);
    return reply(200, {
      kind: 'compute#serialPortOutput',
      contents,
      start: String(Math.min(from, next)),
      next: String(next),
      selfLink: `${projectUrl(ctx)}/zones/${i.zone}/instances/${i.name}/serialPort?port=${port}`,
    });
  };

  const setMetadata = (ctx: RouteContext<{ project: string; zone: string; instance: string }>) => {
    scoped(ctx);
    const i = instanceOf(ctx.params.zone, ctx.params.instance);
    const body = ctx.body as { fingerprint?: string };
    if (body.fingerprint !== fingerprint(i.metadata))
      fail(412, 'conditionNotMet', 'Supplied fingerprint does not match current metadata fingerprint.');
    const items = checkMetadata('metadata', ctx.body);
    i.metadata = items;
    notify(i);
    return operation(
      ctx,
      {
        zone: i.zone,
        operationType: 'setMetadata',
        targetPath: `zones/${i.zone}/instances/${i.name}`,
        targetId: i.id,
      },
      async () => {},
    );
  };

  const setLabels = (ctx: RouteContext<{ project: string; zone: string; instance: string }>) => {
    scoped(ctx);
    const i = instanceOf(ctx.params.zone, ctx.params.instance);
    const body = ctx.body as { labelFingerprint?: string; labels?: unknown };
    if (body.labelFingerprint !== fingerprint(i.labels))
      fail(412, 'conditionNotMet', 'Labels fingerprint either invalid or resource labels have changed');
    i.labels = checkLabels('labels', body.labels);
    return operation(
      ctx,
      {
        zone: i.zone,
        operationType: 'setLabels',
        targetPath: `zones/${i.zone}/instances/${i.name}`,
        targetId: i.id,
      },
      async () => {},
    );
  };

  const zoneInstances = (zone: string) =>
    [...instances.values()]
      .filter((i) => i.zone === zone)
      .sort((a, b) =>
        a.creationTimestamp < b.creationTimestamp ? -1 : a.creationTimestamp > b.creationTimestamp ? 1 : 0,
      );

  const aggregatedInstances = (ctx: RouteContext<{ project: string }>) => {
    scoped(ctx);
    const predicate = parseFilter(ctx.query.get('filter'));
    const all = zones.flatMap((zone) =>
      sortBy(
        zoneInstances(zone).map((i) => instanceResource(ctx, i)),
        ctx.query.get('orderBy'),
      )
        .filter((r) => predicate(r))
        .map((resource) => ({ zone, resource })),
    );
    const page = paginateGoogle(all, ctx);
    const items: Record<string, unknown> = {};
    for (const zone of zones) {
      const here = page.items.filter((e) => e.zone === zone).map((e) => e.resource);
      items[`zones/${zone}`] = here.length
        ? { instances: here }
        : {
            warning: {
              code: 'NO_RESULTS_ON_PAGE',
              message: `There are no results for scope 'zones/${zone}' on this page.`,
              data: [{ key: 'scope', value: `zones/${zone}` }],
            },
          };
    }
    return reply(200, {
      kind: 'compute#instanceAggregatedList',
      id: `projects/${project}/aggregated/instances`,
      items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink: `${projectUrl(ctx)}/aggregated/instances`,
    });
  };

  // ---- images ------------------------------------------------------------------------------------

  /** `rawDisk.source`: storage.googleapis.com (or gs://, or the emulator's own origin) / bucket / object. */
  const parseSource = (source: string) => {
    const origins = [
      'https://storage.googleapis.com/',
      'https://storage.cloud.google.com/',
      'gs://',
      `${settings.origin()}/`,
    ];
    const origin = origins.find((o) => source.startsWith(o));
    const rest = origin ? source.slice(origin.length) : '';
    const slash = rest.indexOf('/');
    if (!origin || slash <= 0 || slash === rest.length - 1)
      fail(
        400,
        'invalid',
        `Invalid value for field 'resource.rawDisk.source': '${source}'. It must be a Cloud Storage URL: https://storage.googleapis.com/BUCKET/OBJECT.`,
      );
    try {
      return { bucket: rest.slice(0, slash), object: decodeURIComponent(rest.slice(slash + 1)) };
    } catch {
      return fail(400, 'invalid', `Invalid value for field 'resource.rawDisk.source': '${source}'.`);
    }
  };

  const insertImage = (ctx: RouteContext<{ project: string }>) => {
    scoped(ctx);
    const body = ctx.body as ImageBody;
    const name = checkName('resource.name', body.name);
    if (images.has(name))
      fail(409, 'alreadyExists', `The resource 'projects/${project}/global/images/${name}' already exists`);
    const source = body.rawDisk?.source;
    if (typeof source !== 'string' || body.sourceDisk || body.sourceImage || body.sourceSnapshot)
      fail(
        400,
        'invalid',
        "Invalid value for field 'resource.rawDisk.source': the emulator makes images from a Cloud Storage archive (rawDisk.source) only.",
      );
    const { bucket, object } = parseSource(source);
    if (body.family !== undefined) checkName('resource.family', body.family);
    const image: Image = {
      id: newId(),
      name,
      creationTimestamp: new Date().toISOString(),
      ...(body.description !== undefined ? { description: String(body.description) } : {}),
      ...(body.family ? { family: String(body.family) } : {}),
      labels: checkLabels('resource.labels', body.labels),
      licenses: ((body.licenses ?? []) as string[]).map(String),
      guestOsFeatures: ((body.guestOsFeatures ?? []) as { type: string }[]).map((f) => ({
        type: String(f.type),
      })),
      rawDiskSource: source,
      status: 'PENDING',
      diskSizeGb: 0,
    };
    images.set(name, image);
    return operation(
      ctx,
      { zone: undefined, operationType: 'insert', targetPath: `global/images/${name}`, targetId: image.id },
      async () => {
        try {
          const found = settings.store.read(bucket, object);
          if (!found)
            throw new OperationError('RESOURCE_NOT_FOUND', `The resource '${source}' was not found`, 404);
          const archive = await checkDiskArchive(found.stream());
          image.archiveSizeBytes = found.object.size;
          image.diskSizeGb = Math.ceil(archive.diskSizeBytes / gib);
          image.status = 'READY';
        } catch (e) {
          // a failed import leaves no image behind, as GCE's does
          if (images.get(name) === image) images.delete(name);
          if (e instanceof InvalidImageArchive) throw new OperationError(e.code, e.message, 400);
          throw e;
        }
      },
    );
  };

  const testImage = (name: string) => {
    images.set(name, {
      id: newId(),
      name,
      creationTimestamp: new Date().toISOString(),
      description: "kola's test image: every instance of the emulator boots it",
      family: 'kola-test',
      labels: {},
      licenses: [],
      guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }, { type: 'UEFI_COMPATIBLE' }],
      status: 'READY',
      diskSizeGb: 10,
    });
  };

  const deleteImage = (ctx: RouteContext<{ project: string; image: string }>) => {
    scoped(ctx);
    const image = images.get(ctx.params.image) ?? notFound(`global/images/${ctx.params.image}`);
    if (image.status === 'PENDING')
      fail(
        400,
        'resourceNotReady',
        `The resource 'projects/${project}/global/images/${image.name}' is not ready`,
      );
    image.status = 'DELETING';
    return operation(
      ctx,
      {
        zone: undefined,
        operationType: 'delete',
        targetPath: `global/images/${image.name}`,
        targetId: image.id,
      },
      async () => {
        images.delete(image.name);
      },
    );
  };

  // ---- disks -------------------------------------------------------------------------------------

  const deleteDisk = (ctx: RouteContext<{ project: string; zone: string; disk: string }>) => {
    scoped(ctx);
    const key = `${ctx.params.zone}/${ctx.params.disk}`;
    const disk = disks.get(key) ?? notFound(`zones/${ctx.params.zone}/disks/${ctx.params.disk}`);
    if (disk.users.length)
      fail(
        400,
        'resourceInUseByAnotherResource',
        `The disk resource 'projects/${project}/zones/${disk.zone}/disks/${disk.name}' is already being used by 'projects/${project}/${disk.users[0]}'`,
      );
    disk.status = 'DELETING';
    return operation(
      ctx,
      {
        zone: disk.zone,
        operationType: 'delete',
        targetPath: `zones/${disk.zone}/disks/${disk.name}`,
        targetId: disk.id,
      },
      async () => {
        disks.delete(key);
      },
    );
  };

  // ---- operations --------------------------------------------------------------------------------

  const operationOf = (ctx: RouteContext<{ project: string; zone?: string; operation: string }>) => {
    scoped(ctx);
    const op = ops.get(ctx.params.operation);
    if (!op || op.zone !== ctx.params.zone)
      return notFound(
        `${ctx.params.zone ? `zones/${ctx.params.zone}` : 'global'}/operations/${ctx.params.operation}`,
      );
    return op;
  };
  const getOperation = (ctx: RouteContext<{ project: string; zone?: string; operation: string }>) =>
    reply(200, ops.render(operationOf(ctx), projectUrl(ctx)));
  /** wait: returns once DONE, or after about two minutes with the operation as it is, as GCE's does. */
  const waitOperation = async (ctx: RouteContext<{ project: string; zone?: string; operation: string }>) => {
    const op = operationOf(ctx);
    await Promise.race([op.done, sleep(waitMs, undefined, { signal: ctx.signal }).catch(() => {})]);
    return reply(200, ops.render(op, projectUrl(ctx)));
  };
  // operations have no creationTimestamp or name ordering of their own: filtered and paged as GCE keeps them
  const listOperations = (ctx: RouteContext<{ project: string; zone?: string }>) => {
    scoped(ctx);
    const scope = ctx.params.zone ? `zones/${ctx.params.zone}` : 'global';
    const predicate = parseFilter(ctx.query.get('filter'));
    const rendered = ops
      .all()
      .filter((op) => op.zone === ctx.params.zone)
      .map((op) => ops.render(op, projectUrl(ctx)))
      .filter((r) => predicate(r));
    const page = paginateGoogle(rendered, ctx);
    return reply(200, {
      kind: 'compute#operationList',
      id: `projects/${project}/${scope}/operations`,
      items: page.items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink: `${projectUrl(ctx)}/${scope}/operations`,
    });
  };

  const projectResource = (ctx: RouteContext<unknown>) => ({
    kind: 'compute#project',
    id: settings.projectNumber,
    creationTimestamp: '2020-01-01T00:00:00.000-08:00',
    name: project,
    commonInstanceMetadata: metadataOf([]),
    quotas: [
      {
        metric: 'CPUS_ALL_REGIONS',
        limit: settings.cpuQuota ?? 1000,
        usage: [...instances.values()]
          .filter((i) => i.status !== 'TERMINATED')
          .reduce((n, i) => n + i.machineType.guestCpus, 0),
      },
      { metric: 'IMAGES', limit: 1000, usage: images.size },
    ],
    selfLink: projectUrl(ctx),
    defaultServiceAccount: `${settings.projectNumber}-compute@developer.gserviceaccount.com`,
    xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS',
    defaultNetworkTier: 'PREMIUM',
    vmDnsSetting: 'ZONAL_ONLY',
  });

  const p = '/compute/v1/projects/{project}';
  const routes: Route[] = [
    route(
      'GET',
      p,
      (ctx) => {
        scoped(ctx);
        return reply(200, projectResource(ctx));
      },
      { operationId: 'compute.projects.get' },
    ),
    route(
      'GET',
      `${p}/zones`,
      (ctx) => {
        scoped(ctx);
        return listOf(
          ctx,
          'compute#zoneList',
          `${projectUrl(ctx)}/zones`,
          zones.map((z, i) => zoneResource(ctx, z, i)),
        );
      },
      { operationId: 'compute.zones.list' },
    ),
    route(
      'GET',
      `${p}/zones/{zone}`,
      (ctx) => {
        scoped(ctx);
        return reply(
          200,
          zoneResource(ctx, ctx.params.zone, zones.indexOf(ctx.params.zone as (typeof zones)[number])),
        );
      },
      { operationId: 'compute.zones.get' },
    ),
    route(
      'GET',
      `${p}/zones/{zone}/machineTypes`,
      (ctx) => {
        scoped(ctx);
        return listOf(
          ctx,
          'compute#machineTypeList',
          `${projectUrl(ctx)}/zones/${ctx.params.zone}/machineTypes`,
          machineTypes.map((t) => ({ ...machineTypeResource(ctx, ctx.params.zone, t) })),
        );
      },
      { operationId: 'compute.machineTypes.list' },
    ),
    route(
      'GET',
      `${p}/zones/{zone}/machineTypes/{machineType}`,
      (ctx) => {
        scoped(ctx);
        const t =
          machineTypes.find((m) => m.name === ctx.params.machineType) ??
          notFound(`zones/${ctx.params.zone}/machineTypes/${ctx.params.machineType}`);
        return reply(200, machineTypeResource(ctx, ctx.params.zone, t));
      },
      { operationId: 'compute.machineTypes.get' },
    ),

    route('POST', `${p}/zones/{zone}/instances`, insertInstance, { operationId: 'compute.instances.insert' }),
    route(
      'GET',
      `${p}/zones/{zone}/instances`,
      (ctx) => {
        scoped(ctx);
        return listOf(
          ctx,
          'compute#instanceList',
          `${projectUrl(ctx)}/zones/${ctx.params.zone}/instances`,
          zoneInstances(ctx.params.zone).map((i) => instanceResource(ctx, i)),
        );
      },
      { operationId: 'compute.instances.list' },
    ),
    route('GET', `${p}/aggregated/instances`, aggregatedInstances, {
      operationId: 'compute.instances.aggregatedList',
    }),
    route(
      'GET',
      `${p}/zones/{zone}/instances/{instance}`,
      (ctx) => {
        scoped(ctx);
        return reply(200, instanceResource(ctx, instanceOf(ctx.params.zone, ctx.params.instance)));
      },
      { operationId: 'compute.instances.get' },
    ),
    route('DELETE', `${p}/zones/{zone}/instances/{instance}`, remove, {
      operationId: 'compute.instances.delete',
    }),
    route('POST', `${p}/zones/{zone}/instances/{instance}/stop`, stop, {
      operationId: 'compute.instances.stop',
    }),
    route('POST', `${p}/zones/{zone}/instances/{instance}/start`, start, {
      operationId: 'compute.instances.start',
    }),
    route('POST', `${p}/zones/{zone}/instances/{instance}/reset`, reset, {
      operationId: 'compute.instances.reset',
    }),
    route('POST', `${p}/zones/{zone}/instances/{instance}/setMetadata`, setMetadata, {
      operationId: 'compute.instances.setMetadata',
    }),
    route('POST', `${p}/zones/{zone}/instances/{instance}/setLabels`, setLabels, {
      operationId: 'compute.instances.setLabels',
    }),
    route('GET', `${p}/zones/{zone}/instances/{instance}/serialPort`, serialPortOutput, {
      operationId: 'compute.instances.getSerialPortOutput',
    }),

    route(
      'GET',
      `${p}/zones/{zone}/disks`,
      (ctx) => {
        scoped(ctx);
        return listOf(
          ctx,
          'compute#diskList',
          `${projectUrl(ctx)}/zones/${ctx.params.zone}/disks`,
          [...disks.values()].filter((d) => d.zone === ctx.params.zone).map((d) => diskResource(ctx, d)),
        );
      },
      { operationId: 'compute.disks.list' },
    ),
    route(
      'GET',
      `${p}/zones/{zone}/disks/{disk}`,
      (ctx) => {
        scoped(ctx);
        const disk =
          disks.get(`${ctx.params.zone}/${ctx.params.disk}`) ??
          notFound(`zones/${ctx.params.zone}/disks/${ctx.params.disk}`);
        return reply(200, diskResource(ctx, disk));
      },
      { operationId: 'compute.disks.get' },
    ),
    route('DELETE', `${p}/zones/{zone}/disks/{disk}`, deleteDisk, { operationId: 'compute.disks.delete' }),

    route('POST', `${p}/global/images`, insertImage, { operationId: 'compute.images.insert' }),
    route(
      'GET',
      `${p}/global/images`,
      (ctx) => {
        scoped(ctx);
        return listOf(
          ctx,
          'compute#imageList',
          `${projectUrl(ctx)}/global/images`,
          [...images.values()].map((im) => imageResource(ctx, im)),
        );
      },
      { operationId: 'compute.images.list' },
    ),
    route(
      'GET',
      `${p}/global/images/{image}`,
      (ctx) => {
        scoped(ctx);
        return reply(
          200,
          imageResource(ctx, images.get(ctx.params.image) ?? notFound(`global/images/${ctx.params.image}`)),
        );
      },
      { operationId: 'compute.images.get' },
    ),
    route('DELETE', `${p}/global/images/{image}`, deleteImage, { operationId: 'compute.images.delete' }),
    route(
      'GET',
      `${p}/global/images/family/{family}`,
      (ctx) => {
        scoped(ctx);
        return reply(
          200,
          imageResource(
            ctx,
            newestOf(ctx.params.family) ?? notFound(`global/images/family/${ctx.params.family}`),
          ),
        );
      },
      { operationId: 'compute.images.getFromFamily' },
    ),

    route('GET', `${p}/zones/{zone}/operations`, listOperations, {
      operationId: 'compute.zoneOperations.list',
    }),
    route('GET', `${p}/zones/{zone}/operations/{operation}`, getOperation, {
      operationId: 'compute.zoneOperations.get',
    }),
    route('POST', `${p}/zones/{zone}/operations/{operation}/wait`, waitOperation, {
      operationId: 'compute.zoneOperations.wait',
    }),
    route('GET', `${p}/global/operations`, listOperations, { operationId: 'compute.globalOperations.list' }),
    route('GET', `${p}/global/operations/{operation}`, getOperation, {
      operationId: 'compute.globalOperations.get',
    }),
    route('POST', `${p}/global/operations/{operation}/wait`, waitOperation, {
      operationId: 'compute.globalOperations.wait',
    }),
  ];

  return {
    routes,
    testImage,
    /** Names of the instances the API has (`zone/name`). */
    instanceNames: () => [...instances.keys()],
  };
}
