import type { protos } from '@google-cloud/compute';
import type { Logger } from '@mantle/cluster';
import type { GceClients } from './clients.js';
import { isNotFound } from './errors.js';
import { gceCall, sdkPages, unlessNotFound } from './http.js';
import { type Operation, operationOf, waitOperation } from './operations.js';

export type Instance = protos.google.cloud.compute.v1.IInstance;

export interface InstanceSpec {
  name: string;
  zone: string;
  machineType: string;
  /** Full image URL. */
  sourceImage: string;
  diskType: string;
  diskSizeGb: number;
  network: string;
  labels: Record<string, string>;
  /** Metadata items: created-by, kola-run, user-data, ssh-keys. */
  metadata: Record<string, string>;
  /** Network tags (mantle: https-server, http-server). */
  tags: string[];
}

/** The Instance resource mantle's NewMachine builds (§5.5): boot disk auto-deleted, external NAT. */
export function instanceResource(project: string, spec: InstanceSpec): Instance {
  const zonePath = `projects/${project}/zones/${spec.zone}`;
  return {
    name: spec.name,
    machineType: `${zonePath}/machineTypes/${spec.machineType}`,
    labels: spec.labels,
    metadata: { items: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })) },
    tags: { items: spec.tags },
    disks: [
      {
        boot: true,
        autoDelete: true,
        type: 'PERSISTENT',
        initializeParams: {
          diskName: spec.name,
          sourceImage: spec.sourceImage,
          diskType: `${zonePath}/diskTypes/${spec.diskType}`,
          diskSizeGb: String(spec.diskSizeGb),
        },
      },
    ],
    networkInterfaces: [
      {
        network: `projects/${project}/global/networks/${spec.network}`,
        accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }],
      },
    ],
  };
}

export interface ApiOptions {
  signal: AbortSignal;
  log?: Logger | undefined;
}

/**
 * Starts `instances.insert`; the operation is returned, not awaited. Retried on throttling and
 * quota answers (the name is ours, so a retry that finds it made is the same instance).
 */
export async function insertInstance(
  clients: GceClients,
  project: string,
  spec: InstanceSpec,
  options: ApiOptions,
): Promise<Operation> {
  const instances = await clients.instances();
  const resource = instanceResource(project, spec);
  return gceCall('instances.insert', options, async () =>
    operationOf(await instances.insert({ project, zone: spec.zone, instanceResource: resource })),
  );
}

export async function getInstance(
  clients: GceClients,
  zone: string,
  name: string,
  options: ApiOptions,
): Promise<Instance | undefined> {
  const instances = await clients.instances();
  const answer = await unlessNotFound(
    gceCall('instances.get', options, () =>
      instances.get({ project: clients.project, zone, instance: name }),
    ),
  );
  return answer?.[0];
}

/** Deletes the instance and waits for the operation; already gone resolves. */
export async function deleteInstance(
  clients: GceClients,
  zone: string,
  name: string,
  options: ApiOptions & { timeoutMs?: number },
): Promise<void> {
  const instances = await clients.instances();
  let op: Operation;
  try {
    op = await gceCall('instances.delete', options, async () =>
      operationOf(await instances.delete({ project: clients.project, zone, instance: name })),
    );
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  try {
    await waitOperation(
      clients,
      `deleting instance ${name}`,
      op,
      { zone },
      {
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? 10 * 60_000,
        ...(options.log ? { log: options.log } : {}),
      },
    );
  } catch (e) {
    // a delete racing another one finds the instance gone: that is what was asked for
    if (
      isNotFound(e) ||
      /RESOURCE_NOT_FOUND/.test(String((e as { details?: { providerCode?: string } }).details?.providerCode))
    )
      return;
    throw e;
  }
}

export interface SerialChunk {
  contents: string;
  /** Where the contents start: more than asked for when the console's buffer dropped older output. */
  start: number;
  /** The offset to ask for next. */
  next: number;
}

/** One read of serial port 1 from `start` (`getSerialPortOutput`). */
export async function serialPortOutput(
  clients: GceClients,
  zone: string,
  name: string,
  start: number,
  options: ApiOptions,
): Promise<SerialChunk> {
  const instances = await clients.instances();
  const [out] = await gceCall('instances.getSerialPortOutput', options, () =>
    instances.getSerialPortOutput({
      project: clients.project,
      zone,
      instance: name,
      port: 1,
      start: String(start),
    }),
  );
  const begin = Number(out.start ?? start);
  const contents = out.contents ?? '';
  return { contents, start: begin, next: Number(out.next ?? begin + Buffer.byteLength(contents)) };
}

/** google-gax's paged inner call: `[resources, nextRequest, rawResponse]`. */
type InnerPagedCall = (request: unknown, options: unknown) => Promise<[unknown, unknown, unknown]>;

/** The zone name of a zone URL or `zones/<z>` key. */
export function zoneOf(value: string | null | undefined): string {
  return (value ?? '').split('/').pop() ?? '';
}

/**
 * Every instance of the project, in every zone (aggregatedList), every page of `pageSize`: one
 * request per page, whatever the number of zones.
 */
export async function* allInstances(
  clients: GceClients,
  options: ApiOptions & { filter?: string; pageSize?: number },
): AsyncGenerator<{ zone: string; instance: Instance }> {
  const instances = await clients.instances();
  let pageToken: string | undefined;
  do {
    const token = pageToken;
    const page = await gceCall('instances.aggregatedList', options, async () => {
      // The client exposes aggregatedList only as an async iterator; its inner call pages one
      // request at a time (autoPaginate off), so paging, retries and the signal stay here.
      await instances.initialize();
      const inner = (instances as unknown as { innerApiCalls: Record<string, InnerPagedCall> }).innerApiCalls;
      const [, , raw] = await inner.aggregatedList!(
        {
          project: clients.project,
          maxResults: options.pageSize ?? 500,
          ...(options.filter ? { filter: options.filter } : {}),
          ...(token ? { pageToken: token } : {}),
        },
        { autoPaginate: false },
      );
      return (raw ?? {}) as protos.google.cloud.compute.v1.IInstanceAggregatedList;
    });
    for (const [key, scoped] of Object.entries(page.items ?? {}))
      for (const instance of scoped.instances ?? []) yield { zone: zoneOf(instance.zone ?? key), instance };
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
}

/** The instances of one zone, every page (ore gcloud list-instances / destroy-instances). */
export async function* zoneInstances(
  clients: GceClients,
  zone: string,
  options: ApiOptions & { filter?: string; pageSize?: number },
): AsyncGenerator<Instance> {
  const instances = await clients.instances();
  yield* sdkPages('instances.list', options, (pageToken) =>
    instances.list(
      {
        project: clients.project,
        zone,
        maxResults: options.pageSize ?? 500,
        ...(options.filter ? { filter: options.filter } : {}),
        ...(pageToken ? { pageToken } : {}),
      },
      { autoPaginate: false },
    ),
  );
}
