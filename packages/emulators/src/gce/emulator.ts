import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedCloud } from '../aws/emulator.js';
import type { FaultKind, FaultOptions } from '../faults/faults.js';
import { createFakeApi } from '../http/fake-api.js';
import { googleShape } from '../http/providers.js';
import type { RequestLog } from '../http/request-log.js';
import { route } from '../http/routes.js';
import type { Violation } from '../http/violations.js';
import { createMachineBackend, type MachineBackend } from '../machines/backend.js';
import { createServiceAccount, createTokenService, serviceAccountKeyFile } from './auth.js';
import { createCompute } from './compute.js';
import { createOperations } from './operations.js';
import { loadGcpSpec, tokenOperation } from './spec.js';
import { createGcsStore } from './storage.js';

export interface GceEmulatorSettings {
  machines: 'qemu' | 'ssh' | 'none';
  /** Test image flavour of qemu machines (minimal by default: it boots in seconds). */
  flavor?: 'minimal' | 'systemd';
  /** Port of the endpoint (default: a free one). */
  port?: number;
  /** Seeded faults (429 rateLimitExceeded, 500/503 backendError, dropped connections, latency). */
  faults?: FaultOptions;
  log?: (line: string) => void;
  /** Per region: CPUs of instances not TERMINATED beyond this end an insert with QUOTA_EXCEEDED. */
  cpuQuota?: number;
  /** How long an operation stays RUNNING at least (default 200 ms). */
  operationMs?: number;
}

export interface GceEmulator extends EmulatedCloud {
  readonly name: 'gce';
  /** `http://127.0.0.1:N`: serves /compute/v1, /storage/v1, /upload/storage/v1 and /token. */
  endpoint: string;
  project: string;
  /** The zone kola's flags name (every zone of the list works). */
  zone: string;
  /** A service-account key file (private key made at start, token_uri = endpoint/token); stop() removes it. */
  keyFile: string;
  /** `kola-test-image-<flavor>`, READY in the project (family kola-test). */
  imageName: string;
  /** `kola-images`, which exists. */
  bucket: string;
  backend: MachineBackend;
  requests: RequestLog;
  violations(): readonly Violation[];
  takeViolations(): Violation[];
  faultsInjected(): Map<FaultKind, number>;
  /** Instances the API has, as `zone/name`. */
  instances(): string[];
  stop(): Promise<void>;
}

const project = 'kola-emulated';
const zone = 'us-central1-a';
const bucket = 'kola-images';

/**
 * Compute Engine and Cloud Storage on 127.0.0.1, one server checked against both Discovery
 * documents, with OAuth tokens from a key file it writes; every instance is a machine of the chosen
 * backend, whose guest gets the GCE metadata server. `stop()` ends every machine, the server and the
 * emulator's files (objects, the key file).
 */
export async function startGceEmulator(settings: GceEmulatorSettings): Promise<GceEmulator> {
  const log = settings.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const spec = await loadGcpSpec(log);
  const dir = await mkdtemp(join(tmpdir(), 'kola-gce-emulator-'));
  const backend = createMachineBackend(settings.machines);
  const stopping = new AbortController();
  const projectNumber = String(randomInt(100_000_000_000, 999_999_999_999));
  const account = createServiceAccount(project);
  let origin = '';
  const tokens = createTokenService(account, () => [
    `${origin}/token`,
    'https://oauth2.googleapis.com/token',
    'https://www.googleapis.com/oauth2/v4/token',
  ]);
  try {
    const store = await createGcsStore({
      dir: join(dir, 'gcs'),
      projectNumber,
      ...(spec ? { validateMetadata: spec.objectMetadataProblems } : {}),
    });
    const operations = createOperations({
      minMs: settings.operationMs ?? 200,
      user: account.email,
      signal: stopping.signal,
    });
    const compute = createCompute({
      project,
      projectNumber,
      backend,
      ...(settings.flavor ? { flavor: settings.flavor } : {}),
      store,
      tokens,
      operations,
      ...(settings.cpuQuota !== undefined ? { cpuQuota: settings.cpuQuota } : {}),
      origin: () => origin,
      log,
      signal: stopping.signal,
    });
    const api = await createFakeApi({
      name: 'gce',
      ...(spec ? { spec } : {}),
      basePath: '',
      provider: googleShape(),
      ...(settings.faults ? { faults: settings.faults } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      log,
      authenticate: (request) =>
        request.operationId === tokenOperation ? undefined : tokens.check(request.headers),
      routes: [
        ...compute.routes,
        ...store.routes,
        route('POST', '/token', (ctx) => tokens.exchange(new URLSearchParams(ctx.rawBody.toString('utf8'))), {
          operationId: tokenOperation,
        }),
      ],
    });
    origin = api.origin;
    const keyFile = join(dir, 'service-account.json');
    await writeFile(
      keyFile,
      JSON.stringify(serviceAccountKeyFile(account, project, `${origin}/token`), null, 2),
      {
        mode: 0o600,
      },
    );
    store.createBucket(bucket);
    const imageName = `kola-test-image-${settings.flavor ?? 'minimal'}`;
    compute.testImage(imageName);

    const flags = [
      '--gce-endpoint',
      origin,
      '--gce-project',
      project,
      '--gce-zone',
      zone,
      '--gce-json-key',
      keyFile,
    ];
    let stopped: Promise<void> | undefined;
    return {
      name: 'gce',
      endpoint: origin,
      project,
      zone,
      keyFile,
      imageName,
      bucket,
      backend,
      requests: api.requests,
      violations: () => api.violations(),
      takeViolations: () => api.takeViolations(),
      faultsInjected: () => api.faultsInjected(),
      instances: () => compute.instanceNames(),
      env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
      // the same flags point kola and ore at it; kola also names the image to boot
      kola: ['-p', 'gce', ...flags, '--gce-image', imageName],
      ore: flags,
      stop() {
        stopped ??= (async () => {
          await api.close();
          stopping.abort();
          await operations.settle();
          await backend.dispose();
          await store.close();
          await rm(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (e) {
    stopping.abort();
    await backend.dispose();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
