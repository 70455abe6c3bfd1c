import { z } from 'zod';
import {
  type Device,
  deviceSchema,
  type Project,
  projectSchema,
  type SshKey,
  sshKeySchema,
} from './schemas.js';
import { isNotFound, MetalTransport, type MetalTransportOptions } from './transport.js';

export interface CreateDeviceRequest {
  hostname: string;
  plan: string;
  metro: string;
  ipxeScriptUrl: string;
  tags: string[];
  /** Project key ids the device gets; empty = none (no_ssh_keys). */
  sshKeyIds: string[];
  userdata?: string;
}

/** The endpoints kola and ore use, typed; one per key, endpoint and project. Every call takes a signal. */
export class MetalClient {
  readonly transport: MetalTransport;

  constructor(
    options: MetalTransportOptions,
    readonly projectId: string,
  ) {
    this.transport = new MetalTransport(options);
  }

  private get project(): string {
    return `/projects/${encodeURIComponent(this.projectId)}`;
  }

  getProject(signal: AbortSignal): Promise<Project> {
    return this.transport.call({
      operation: 'findProjectById',
      method: 'GET',
      path: this.project,
      schema: projectSchema,
      signal,
    });
  }

  /** Every device of the project (tagged `tag` when given), paged 1000 at a time as mantle. */
  async devices(signal: AbortSignal, tag?: string): Promise<Device[]> {
    const out: Device[] = [];
    for await (const d of this.transport.list({
      operation: 'findProjectDevices',
      path: `${this.project}/devices`,
      key: 'devices',
      item: deviceSchema,
      query: { tag },
      signal,
    }))
      out.push(d);
    return out;
  }

  /** A device, or undefined once it is gone. */
  async device(id: string, signal: AbortSignal): Promise<Device | undefined> {
    try {
      return await this.transport.call({
        operation: 'findDeviceById',
        method: 'GET',
        path: `/devices/${encodeURIComponent(id)}`,
        schema: deviceSchema,
        signal,
      });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * `custom_ipxe`, hourly. A lost answer is recovered by the hostname and tags (a run's hostnames are
   * unique), so a retry never makes a second device.
   */
  createDevice(r: CreateDeviceRequest, signal: AbortSignal): Promise<Device> {
    return this.transport.call({
      operation: 'createDevice',
      method: 'POST',
      path: `${this.project}/devices`,
      body: {
        hostname: r.hostname,
        plan: r.plan,
        metro: r.metro,
        operating_system: 'custom_ipxe',
        ipxe_script_url: r.ipxeScriptUrl,
        always_pxe: false,
        billing_cycle: 'hourly',
        tags: r.tags,
        ...(r.sshKeyIds.length ? { project_ssh_keys: r.sshKeyIds } : { no_ssh_keys: true }),
        ...(r.userdata ? { userdata: r.userdata } : {}),
      },
      schema: deviceSchema,
      signal,
      recover: async (s) =>
        (await this.devices(s, r.tags[r.tags.length - 1])).find((d) => d.hostname === r.hostname),
    });
  }

  /** Deletes a device; already gone is success. */
  async deleteDevice(id: string, signal: AbortSignal): Promise<void> {
    try {
      await this.transport.call({
        operation: 'deleteDevice',
        method: 'DELETE',
        path: `/devices/${encodeURIComponent(id)}`,
        signal,
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async sshKeys(signal: AbortSignal): Promise<SshKey[]> {
    const answer = await this.transport.call({
      operation: 'findProjectSSHKeys',
      method: 'GET',
      path: `${this.project}/ssh-keys`,
      schema: z.looseObject({ ssh_keys: z.array(sshKeySchema).nullish() }),
      signal,
    });
    return answer.ssh_keys ?? [];
  }

  /** A project key; a lost answer is recovered by the label. */
  createSshKey(label: string, publicKey: string, signal: AbortSignal): Promise<SshKey> {
    return this.transport.call({
      operation: 'createProjectSSHKey',
      method: 'POST',
      path: `${this.project}/ssh-keys`,
      body: { label, key: publicKey },
      schema: sshKeySchema,
      signal,
      recover: async (s) => (await this.sshKeys(s)).find((k) => k.label === label),
    });
  }

  /** Deletes a key; already gone is success. */
  async deleteSshKey(id: string, signal: AbortSignal): Promise<void> {
    try {
      await this.transport.call({
        operation: 'deleteSSHKey',
        method: 'DELETE',
        path: `/ssh-keys/${encodeURIComponent(id)}`,
        signal,
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
