import { randomBytes } from 'node:crypto';
import type { EmulatedCloud } from '../aws/emulator.js';
import { type DoSpaces, startDoSpaces } from '../do/spaces.js';
import type { FaultOptions } from '../faults/faults.js';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { equinixMetalShape } from '../http/providers.js';
import type { RequestLog } from '../http/request-log.js';
import type { Violation } from '../http/violations.js';
import { type BackendMachine, createMachineBackend, type MachineBackend } from '../machines/backend.js';
import { packetRoutes } from './routes.js';
import { type SosServer, startSosServer } from './sos.js';
import { type DeviceRecord, type DeviceState, PacketState, type PacketTiming } from './state.js';

export interface PacketEmulatorSettings {
  machines: 'qemu' | 'ssh' | 'none';
  flavor?: 'minimal' | 'systemd';
  port?: number;
  faults?: FaultOptions;
  log?: (line: string) => void;
  timing?: Partial<PacketTiming>;
}

export interface PacketEmulator extends EmulatedCloud {
  readonly name: 'packet';
  /** `http://127.0.0.1:N/metal/v1`. */
  endpoint: string;
  /** The API key (`X-Auth-Token`); also `env.METAL_AUTH_TOKEN`. */
  token: string;
  projectId: string;
  /** Where the platform stages the installer config and iPXE script: moto's S3 (presigned GETs over http). */
  storage: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  /** `s3://<bucket>/kola/` */
  storageUrl: string;
  backend: MachineBackend;
  api: FakeApi;
  requests: RequestLog;
  violations(): readonly Violation[];
  takeViolations(): Violation[];
  /** Ids of the devices that exist. */
  devices(): string[];
  device(id: string): Readonly<DeviceRecord> | undefined;
  /** Labels of the SSH keys that exist. */
  sshKeys(): string[];
  /** Keys of the staged objects in the storage bucket. */
  storageObjects(): Promise<string[]>;
  machine(id: string): BackendMachine | undefined;
  /** The SOS endpoint (`127.0.0.1:N`) streaming each device's serial console over SSH. */
  sos: SosServer;
  /** Test hooks: pins a device's state (a device kept `provisioning`), or dates a device's or key's creation. */
  holdState(id: string, state: DeviceState): void;
  backdate(id: string, createdAt: Date): void;
}

/**
 * Equinix Metal's API v1 on 127.0.0.1, checked against its spec (`X-Auth-Token`, `{errors: […]}`),
 * one project, whose `custom_ipxe` devices follow the iPXE install path (the script and installer
 * config fetched over http from the staging storage, moto's S3) and are then machines of the chosen
 * backend serving the installed config at `/userdata` of their metadata service.
 */
export async function startPacketEmulator(settings: PacketEmulatorSettings): Promise<PacketEmulator> {
  const log = settings.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const token = randomBytes(24).toString('base64url');
  const stopping = new AbortController();
  const backend = createMachineBackend(settings.machines);
  const state = new PacketState(backend, {
    queuedMs: 100,
    provisionMs: 500,
    installMs: 500,
    ...settings.timing,
  });
  let storage: DoSpaces | undefined;
  let api: FakeApi | undefined;
  let sos: SosServer | undefined;
  try {
    sos = await startSosServer(state);
    storage = await startDoSpaces({ region: 'us-east-1', bucket: 'kola-packet' });
    api = await createFakeApi({
      name: 'packet',
      spec: 'equinix-metal',
      provider: equinixMetalShape(),
      authenticate: (request) =>
        request.headers['x-auth-token'] === token
          ? undefined
          : { status: 401, body: { errors: ['Invalid authentication token'] } },
      routes: packetRoutes({ state, log, signal: stopping.signal, flavor: settings.flavor ?? 'minimal' }),
      ...(settings.faults ? { faults: settings.faults } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      log,
    });
  } catch (e) {
    await api?.close();
    await storage?.close();
    await sos?.close();
    throw e;
  }
  const started = { api, storage, sos };
  const storageUrl = `s3://${storage.bucket}/kola/`;
  const platformFlags = [
    '--packet-endpoint',
    api.url,
    '--packet-storage-url',
    storageUrl,
    '--packet-storage-endpoint',
    storage.endpoint,
    '--packet-sos-endpoint',
    sos.endpoint,
  ];
  let stopped: Promise<void> | undefined;
  return {
    name: 'packet',
    endpoint: api.url,
    token,
    projectId: state.projectId,
    storage: {
      endpoint: storage.endpoint,
      region: storage.region,
      bucket: storage.bucket,
      accessKeyId: storage.accessKeyId,
      secretAccessKey: storage.secretAccessKey,
    },
    storageUrl,
    backend,
    api,
    requests: api.requests,
    violations: () => started.api.violations(),
    takeViolations: () => started.api.takeViolations(),
    devices: () => [...state.devices.keys()],
    device: (id) => state.devices.get(id),
    sshKeys: () => [...state.keys.values()].map((k) => k.label),
    machine: (id) => state.devices.get(id)?.machine,
    sos,
    async storageObjects() {
      const answer = await fetch(
        `${started.storage.moto.motoEndpoint}/${started.storage.bucket}?list-type=2`,
        {
          headers: {
            authorization: `AWS4-HMAC-SHA256 Credential=${started.storage.accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0`,
          },
        },
      );
      const xml = await answer.text();
      return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
    },
    holdState(id, s) {
      const d = state.devices.get(id);
      if (!d) throw new Error(`no device ${id}`);
      d.state = s;
      d.held = true;
    },
    backdate(id, createdAt) {
      const r = state.devices.get(id) ?? state.keys.get(id);
      if (!r) throw new Error(`no device or key ${id}`);
      r.createdAt = createdAt;
    },
    env: {
      METAL_AUTH_TOKEN: token,
      METAL_PROJECT_ID: state.projectId,
      AWS_ACCESS_KEY_ID: storage.accessKeyId,
      AWS_SECRET_ACCESS_KEY: storage.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    kola: ['-p', 'packet', ...platformFlags],
    ore: platformFlags,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await Promise.allSettled(
          [...state.devices.values()].map(async (d) => {
            d.discard?.server.close();
            for (const s of d.discard?.sockets ?? []) s.destroy();
            await (await d.starting)?.terminate();
          }),
        );
        await backend.dispose();
        await started.api.close();
        await started.storage.close();
        await started.sos.close();
      })();
      return stopped;
    },
  };
}
