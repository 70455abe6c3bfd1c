import { connect } from 'node:net';
import {
  abortReason,
  deadline,
  errorMessage,
  type Logger,
  PlatformApiError,
  parseDuration,
  pollEvery,
  releaseDeadline,
  sleep,
  TimeoutError,
  underFreshDeadline,
} from '@mantle/cluster';
import type { MetalClient } from './api/client.js';
import { type Device, deviceAddress } from './api/schemas.js';
import { ipxeScript, wrapUserData } from './install.js';
import { boardSettings, metroOf, type PacketOptions } from './options.js';
import type { Storage } from './storage.js';

/** The waits of a device's life (mantle's: 30 s × 10 min for active, 5 s × 15 min for the install). */
export interface DeviceWaits {
  activeIntervalMs: number;
  activeTimeoutMs: number;
  installIntervalMs: number;
  installTimeoutMs: number;
}

export const defaultWaits: DeviceWaits = {
  activeIntervalMs: 30_000,
  activeTimeoutMs: 10 * 60_000,
  installIntervalMs: 5_000,
  installTimeoutMs: 15 * 60_000,
};

/** The waits the options ask for (`--packet-poll-interval`). */
export function waitsOf(o: PacketOptions): DeviceWaits {
  const interval = parseDuration(o.pollInterval, '--packet-poll-interval');
  return { ...defaultWaits, activeIntervalMs: interval, installIntervalMs: Math.min(interval, 5_000) };
}

export interface InstallDeviceRequest {
  hostname: string;
  userData: string;
  tags: string[];
  sshKeyIds: string[];
}

export interface InstalledDevice {
  device: Device;
  publicIp: string;
  privateIp: string | undefined;
}

/**
 * §5.6: stages the wrapped config and the iPXE script, creates the `custom_ipxe` device, waits for
 * `active` and for the install (EOF on the discard port). `onCreated` runs as soon as the device
 * exists (the ledger), `onActive` once it is active (the console). The staged objects are removed
 * once the device is active, and on any failure; a device made but not installed is the caller's
 * to destroy (`created` says which).
 */
export async function installDevice(
  client: MetalClient,
  storage: Storage,
  options: PacketOptions,
  request: InstallDeviceRequest,
  o: {
    signal: AbortSignal;
    waits: DeviceWaits;
    log: Logger;
    onCreated?: (device: Device) => void;
    onActive?: (device: Device) => void;
  },
): Promise<InstalledDevice> {
  const board = boardSettings(options);
  const staged: string[] = [];
  const removeStaged = () =>
    underFreshDeadline('removing the staged install objects', 60_000, async (signal) => {
      for (const key of staged.splice(0)) {
        try {
          await storage.delete(key, signal);
        } catch (e) {
          o.log.warn(`packet: staged object ${key} may be left behind (ore packet gc removes it)`, {
            error: errorMessage(e),
          });
        }
      }
    });
  try {
    const configKey = storage.objectKey(request.hostname);
    staged.push(configKey);
    const configUrl = await storage.put(
      configKey,
      wrapUserData(request.userData, board.imageUrl),
      'application/vnd.coreos.ignition+json',
      o.signal,
    );
    const scriptKey = storage.objectKey(request.hostname);
    staged.push(scriptKey);
    const scriptUrl = await storage.put(
      scriptKey,
      ipxeScript({ installerBaseUrl: board.installerBaseUrl, configUrl, console: board.console }),
      'application/octet-stream',
      o.signal,
    );
    const made = await client.createDevice(
      {
        hostname: request.hostname,
        plan: board.plan,
        metro: metroOf(options),
        ipxeScriptUrl: scriptUrl,
        tags: request.tags,
        sshKeyIds: request.sshKeyIds,
      },
      o.signal,
    );
    o.onCreated?.(made);
    const active = await waitActive(client, made.id, o.waits, o.signal);
    await removeStaged();
    o.onActive?.(active);
    const publicIp = deviceAddress(active, 'public');
    if (!publicIp)
      throw new PlatformApiError(
        { platform: 'packet', operation: 'findDeviceById' },
        `device ${made.id} is active without a public IPv4`,
      );
    await waitInstalled(publicIp, o.waits, o.signal, o.log);
    return { device: active, publicIp, privateIp: deviceAddress(active, 'private') };
  } finally {
    if (staged.length) await removeStaged();
  }
}

export function waitActive(
  client: MetalClient,
  id: string,
  waits: DeviceWaits,
  signal: AbortSignal,
): Promise<Device> {
  return pollEvery(
    `for device ${id} to be active`,
    { intervalMs: waits.activeIntervalMs, timeoutMs: waits.activeTimeoutMs, signal },
    async () => {
      const d = await client.device(id, signal);
      if (!d)
        throw new PlatformApiError(
          { platform: 'packet', operation: 'findDeviceById' },
          `device ${id} vanished while it was provisioned`,
        );
      if (d.state === 'failed')
        throw new PlatformApiError(
          { platform: 'packet', operation: 'createDevice' },
          `device ${id} failed to provision`,
        );
      return d.state === 'active' ? d : undefined;
    },
  );
}

/**
 * The installer's discard socket (port 9): dialled every interval; once a connection is up, the
 * install has finished when it reads EOF (the installer rebooting into the installed system).
 */
export async function waitInstalled(
  host: string,
  waits: DeviceWaits,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const until = Date.now() + waits.installTimeoutMs;
  const limit = deadline(signal, waits.installTimeoutMs, `waiting for the install on ${host}`);
  try {
    for (;;) {
      const outcome = await new Promise<'eof' | 'refused'>((resolve, reject) => {
        const socket = connect({ host, port: 9 });
        let connected = false;
        const onAbort = () => {
          socket.destroy();
          reject(abortReason(limit, `waiting for the install on ${host}`));
        };
        limit.addEventListener('abort', onAbort, { once: true });
        const done = (r: 'eof' | 'refused') => {
          limit.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(r);
        };
        socket.on('connect', () => {
          connected = true;
          log.debug(`packet: install running on ${host}; waiting for it to end`);
        });
        socket.resume();
        socket.on('end', () => done('eof'));
        socket.on('error', () => done(connected ? 'eof' : 'refused'));
        socket.on('close', () => done(connected ? 'eof' : 'refused'));
      });
      if (outcome === 'eof') return;
      if (Date.now() + waits.installIntervalMs > until)
        throw new TimeoutError(`waiting for the install on ${host}`, waits.installTimeoutMs);
      await sleep(waits.installIntervalMs, limit);
    }
  } finally {
    releaseDeadline(limit);
  }
}

/** Deletes a device and waits until the API no longer lists it; a locked one is an error naming why. */
export async function destroyDevice(client: MetalClient, id: string, signal: AbortSignal): Promise<void> {
  await client.deleteDevice(id, signal);
  await pollEvery(
    `for device ${id} to be gone`,
    { intervalMs: 1000, timeoutMs: 5 * 60_000, signal },
    async () => ((await client.device(id, signal)) ? undefined : true),
  );
}
