import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedCloud } from '../aws/emulator.js';
import type { FaultOptions } from '../faults/faults.js';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { digitalOceanShape } from '../http/providers.js';
import type { RequestLog } from '../http/request-log.js';
import type { Violation } from '../http/violations.js';
import { type BackendMachine, createMachineBackend, type MachineBackend } from '../machines/backend.js';
import { accountRoutes } from './account.js';
import { distributionImages, doRegions } from './catalog.js';
import { bearerToken, type DoContext, type DoTiming } from './context.js';
import { dropletRoutes } from './droplets.js';
import { imageRoutes } from './images.js';
import { type DoSpaces, startDoSpaces } from './spaces.js';
import { DoState } from './state.js';

export interface DoEmulatorSettings {
  machines: 'qemu' | 'ssh' | 'none';
  /** Test image flavour of qemu machines (minimal by default: it boots in seconds). */
  flavor?: 'minimal' | 'systemd';
  /** Port of the API endpoint (default: a free one). */
  port?: number;
  /** Seeded faults (429 `too_many_requests` with the rate-limit headers, 5xx, drops, latency). */
  faults?: FaultOptions;
  log?: (line: string) => void;
  /** How long background work takes (defaults: boot 1000 ms, actions 500 ms, imports 500 ms). */
  timing?: Partial<DoTiming>;
}

export interface DoEmulator extends EmulatedCloud {
  readonly name: 'digitalocean';
  /** `http://127.0.0.1:N`; the API paths are `/v2/…` under it. */
  endpoint: string;
  /** The API token (`Authorization: Bearer …`); also `env.DIGITALOCEAN_TOKEN`. */
  token: string;
  /** Spaces: moto's S3, path-style, with the bucket `kola-images` made at start. */
  spaces: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  /** The private image `kola-test-image-<flavor>`, in every region: the one kola boots. */
  imageId: number;
  backend: MachineBackend;
  /** The fake API itself (its request log, violations, faults). */
  api: FakeApi;
  /** Calls per operation id (`droplets_create`, …). */
  requests: RequestLog;
  /** Spec violations recorded so far. */
  violations(): readonly Violation[];
  /** The violations so far, which are then forgotten (what `expectNoViolations` calls). */
  takeViolations(): Violation[];
  /** Ids of the droplets that exist (not deleted). */
  droplets(): number[];
  /** Metadata-service requests each droplet's guest made, by droplet id. */
  metadataRequests(dropletId: number): string[];
  /** The droplet's machine, once it has started (its console: DigitalOcean's API has none). */
  machine(dropletId: number): BackendMachine | undefined;
  /**
   * The raw disk file of a snapshot taken of a powered-off droplet on the qemu backend (DigitalOcean's
   * API cannot read one back); undefined for other images, and once the image is deleted.
   */
  snapshotDisk(imageId: number): string | undefined;
}

const spacesRegion = 'sfo2';
const spacesBucket = 'kola-images';

/**
 * DigitalOcean's API v2 on 127.0.0.1, checked against DigitalOcean's own OpenAPI spec, whose droplets
 * are machines of the chosen backend (their guests get DigitalOcean's metadata service), with Spaces
 * on moto's S3. `stop()` terminates every machine, then the API, then moto.
 */
export async function startDoEmulator(settings: DoEmulatorSettings): Promise<DoEmulator> {
  const log = settings.log ?? (() => {});
  const flavor = settings.flavor ?? 'minimal';
  const token = `dop_v1_${randomBytes(32).toString('hex')}`;
  const stopping = new AbortController();
  const state = new DoState();
  const allRegions = doRegions.map((r) => r.slug);
  const epoch = new Date('2026-01-01T00:00:00Z');
  for (const d of distributionImages) {
    const id = state.imageId();
    state.images.set(id, {
      id,
      name: d.name,
      type: 'base',
      distribution: d.distribution,
      slug: d.slug,
      public: true,
      regions: allRegions,
      transfers: [],
      createdAt: epoch,
      minDiskSize: d.minDisk,
      sizeGigabytes: d.size,
      description: `${d.distribution} ${d.name}`,
      tags: [],
      origin: 'distribution',
    });
  }
  const imageId = state.imageId();
  state.images.set(imageId, {
    id: imageId,
    name: `kola-test-image-${flavor}`,
    type: 'custom',
    distribution: 'Unknown',
    slug: null,
    public: false,
    regions: allRegions,
    transfers: [],
    createdAt: epoch,
    minDiskSize: 1,
    sizeGigabytes: 0.3,
    description: `kola's test image (${flavor}), what the emulator's qemu machines boot`,
    tags: ['kola'],
    origin: 'test-image',
  });
  state.addTags(['kola']);

  const backend = createMachineBackend(settings.machines);
  let snapshotDir: string | undefined;
  const context: DoContext = {
    state,
    backend,
    flavor,
    timing: { bootMs: 1000, actionMs: 500, importMs: 500, ...settings.timing },
    testImageId: imageId,
    log,
    snapshotDir: () => (snapshotDir ??= mkdtempSync(join(tmpdir(), 'kola-do-snapshots-'))),
    signal: stopping.signal,
  };
  let spaces: DoSpaces | undefined;
  let api: FakeApi | undefined;
  try {
    spaces = await startDoSpaces({ region: spacesRegion, bucket: spacesBucket });
    api = await createFakeApi({
      name: 'digitalocean',
      spec: 'digitalocean',
      provider: digitalOceanShape(),
      authenticate: bearerToken(token),
      routes: [...accountRoutes(context), ...dropletRoutes(context), ...imageRoutes(context)],
      ...(settings.faults ? { faults: settings.faults } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      log: settings.log ?? ((line) => process.stderr.write(`${line}\n`)),
    });
  } catch (e) {
    await api?.close();
    await spaces?.close();
    throw e;
  }
  const started = { api, spaces };
  const endpoint = api.url;
  let stopped: Promise<void> | undefined;
  return {
    name: 'digitalocean',
    endpoint,
    token,
    spaces: {
      endpoint: spaces.endpoint,
      region: spaces.region,
      bucket: spaces.bucket,
      accessKeyId: spaces.accessKeyId,
      secretAccessKey: spaces.secretAccessKey,
    },
    imageId,
    backend,
    api,
    requests: api.requests,
    violations: () => started.api.violations(),
    takeViolations: () => started.api.takeViolations(),
    droplets: () => [...state.droplets.keys()],
    metadataRequests: (id) => [...(state.droplets.get(id)?.metadata.requests ?? [])],
    machine: (id) => state.droplets.get(id)?.machine,
    snapshotDisk: (id) => state.images.get(id)?.disk,
    // secrets only in the environment: flags show in `ps`
    env: {
      DIGITALOCEAN_TOKEN: token,
      SPACES_ACCESS_KEY_ID: spaces.accessKeyId,
      SPACES_SECRET_ACCESS_KEY: spaces.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    kola: ['-p', 'do', '--do-endpoint', endpoint, '--do-region', 'sfo2', '--do-image', String(imageId)],
    ore: [
      '--do-endpoint',
      endpoint,
      '--do-spaces-endpoint',
      spaces.endpoint,
      '--do-spaces-bucket',
      spaces.bucket,
      '--do-spaces-region',
      spaces.region,
    ],
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        // the droplets the API still has are ended as a delete would; dispose() names anything else
        await Promise.allSettled(
          [...state.droplets.values()].map(async (d) => (await d.starting)?.terminate()),
        );
        await backend.dispose();
        await started.api.close();
        await started.spaces.close();
        if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
