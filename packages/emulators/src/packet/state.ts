import { randomUUID } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import { FakeReplyError } from '../http/errors.js';
import type { FakeReply } from '../http/routes.js';
import type { BackendMachine, MachineBackend } from '../machines/backend.js';
import { type MetalMetro, type MetalPlan, metroJson, planJson } from './catalog.js';

export type DeviceState = 'queued' | 'provisioning' | 'active' | 'failed' | 'deprovisioning';

/** How long a device's phases take in the emulator, in ms. */
export interface PacketTiming {
  /** `queued` before the provisioner takes it (and fetches the iPXE script). Default 100. */
  queuedMs: number;
  /** `provisioning` once the machine has started, before `active`. Default 500. */
  provisionMs: number;
  /** How long the installer keeps the discard port (9) open after the first connection. Default 500. */
  installMs: number;
}

export interface DeviceRecord {
  id: string;
  shortId: string;
  hostname: string;
  plan: MetalPlan;
  metro: MetalMetro;
  state: DeviceState;
  locked: boolean;
  tags: string[];
  billingCycle: string;
  operatingSystem: string;
  ipxeScriptUrl: string | undefined;
  alwaysPxe: boolean;
  userdata: string;
  /** What the installed system boots with (the installer config's /userdata), once the install read it. */
  installedUserData: string | undefined;
  sshKeyIds: string[];
  createdAt: Date;
  updatedAt: Date;
  privateIp: string;
  machine: BackendMachine | undefined;
  /** Settles once the machine has started, or failed to (undefined). */
  starting: Promise<BackendMachine | undefined>;
  /** The installer's discard listener (port 9), while the install runs. */
  discard: { server: Server; sockets: Set<Socket> } | undefined;
  /** Why the device failed, for the emulator's log and tests. */
  failure: string | undefined;
  /** A test has pinned the state (`provisioning` forever, to check GC skips it). */
  held: boolean;
}

export interface KeyRecord {
  id: string;
  label: string;
  key: string;
  fingerprint: string;
  createdAt: Date;
  /** `projects/<id>` or `users/<id>`. */
  owner: string;
}

/** Equinix Metal's error answer: `{"errors": ["…"]}`. */
export function metalError(status: number, message: string): FakeReply {
  return { status, body: { errors: [message] } };
}

export function refuse(status: number, message: string): never {
  throw new FakeReplyError(metalError(status, message), message);
}

export const unprocessable = (message: string): never => refuse(422, message);

export const notFound = (): never => {
  throw new FakeReplyError({ status: 404, body: { error: 'Not found' } }, 'not found');
};

export class PacketState {
  readonly projectId = randomUUID();
  readonly projectName = 'kola';
  readonly organizationId = randomUUID();
  readonly userId = randomUUID();
  readonly devices = new Map<string, DeviceRecord>();
  readonly keys = new Map<string, KeyRecord>();
  private nextPrivate = 2;

  constructor(
    readonly backend: MachineBackend,
    readonly timing: PacketTiming,
  ) {}

  privateAddress(): string {
    const n = this.nextPrivate++;
    return `10.70.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  projectJson() {
    return {
      id: this.projectId,
      name: this.projectName,
      href: `/metal/v1/projects/${this.projectId}`,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
      organization: { href: `/metal/v1/organizations/${this.organizationId}` },
      devices: [...this.devices.values()].map((d) => ({ href: `/metal/v1/devices/${d.id}` })),
      ssh_keys: [...this.keys.values()]
        .filter((k) => k.owner === `projects/${this.projectId}`)
        .map((k) => ({ href: `/metal/v1/ssh-keys/${k.id}` })),
      type: 'default' as const,
    };
  }

  keyJson(k: KeyRecord) {
    return {
      id: k.id,
      label: k.label,
      key: k.key,
      fingerprint: k.fingerprint,
      created_at: k.createdAt.toISOString(),
      updated_at: k.createdAt.toISOString(),
      href: `/metal/v1/ssh-keys/${k.id}`,
      entity: { href: `/metal/v1/${k.owner}` },
      tags: [],
    };
  }

  deviceJson(d: DeviceRecord) {
    const addresses = [];
    const publicIp = d.machine?.sshHost;
    if (publicIp && d.state !== 'queued')
      addresses.push({
        id: randomUUID(),
        address_family: 4,
        address: publicIp,
        netmask: '255.255.255.254',
        cidr: 31,
        gateway: publicIp,
        public: true,
        management: true,
        manageable: true,
        enabled: true,
        global_ip: false,
        href: `/metal/v1/ips/${d.id}-public`,
      });
    if (d.state !== 'queued')
      addresses.push({
        id: randomUUID(),
        address_family: 4,
        address: d.privateIp,
        netmask: '255.255.255.254',
        cidr: 31,
        gateway: d.privateIp,
        public: false,
        management: true,
        manageable: true,
        enabled: true,
        global_ip: false,
        href: `/metal/v1/ips/${d.id}-private`,
      });
    return {
      id: d.id,
      short_id: d.shortId,
      hostname: d.hostname,
      href: `/metal/v1/devices/${d.id}`,
      state: d.state,
      locked: d.locked,
      tags: d.tags,
      billing_cycle: d.billingCycle,
      always_pxe: d.alwaysPxe,
      ...(d.ipxeScriptUrl ? { ipxe_script_url: d.ipxeScriptUrl } : {}),
      userdata: d.userdata,
      customdata: {},
      created_at: d.createdAt.toISOString(),
      updated_at: d.updatedAt.toISOString(),
      operating_system: { slug: d.operatingSystem, name: d.operatingSystem, distro: 'custom' },
      plan: planJson(d.plan),
      metro: metroJson(d.metro),
      facility: {
        id: d.metro.id,
        code: `${d.metro.code}15`,
        name: `${d.metro.name} 15`,
        metro: metroJson(d.metro),
      },
      project: { href: `/metal/v1/projects/${this.projectId}` },
      project_lite: { href: `/metal/v1/projects/${this.projectId}` },
      ip_addresses: addresses,
      ssh_keys: d.sshKeyIds.map((id) => ({ href: `/metal/v1/ssh-keys/${id}` })),
      network_ports: [],
      volumes: [],
      provisioning_percentage: d.state === 'active' ? 100 : d.state === 'provisioning' ? 50 : 0,
      sos: `sos.${d.metro.code}15.platformequinix.com`,
    };
  }
}
