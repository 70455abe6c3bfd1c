import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeIoError } from '@mantle/auth';
import { ConfigError, errorMessage, parseDuration, underFreshDeadline } from '@mantle/cluster';
import { createMetalClient } from '../credentials.js';
import { destroyDevice, installDevice, waitsOf } from '../devices.js';
import { Storage } from '../storage.js';
import { ownerTag } from '../tags.js';
import type { createDeviceOptions, PacketVerbInput } from './schemas.js';

/**
 * `ore packet create-device`: kola's iPXE install without a console. Prints mantle's
 * `{"id","hostname","public-ip"}`. A device that does not come up (or a Ctrl-C) is destroyed, and the
 * staged objects are removed either way: nothing is left but a device that installed.
 */
export async function runCreateDevice(input: PacketVerbInput<typeof createDeviceOptions>): Promise<number> {
  const { platformOptions, options, signal, io, log } = input;
  const installTimeoutMs = parseDuration(options.installTimeout, '--install-timeout');
  let userData = '';
  if (options.userdataFile) {
    try {
      userData = readFileSync(options.userdataFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`--userdata-file ${options.userdataFile}: cannot read: ${describeIoError(e)}`);
    }
  }
  const client = createMetalClient(platformOptions, log);
  const storage = await Storage.open(platformOptions, 'ore packet create-device');
  const hostname = options.hostname ?? `ore-${randomBytes(5).toString('hex')}`;
  let created: string | undefined;
  try {
    const installed = await installDevice(
      client,
      storage,
      platformOptions,
      { hostname, userData, tags: [ownerTag, `ore-device:${hostname}`], sshKeyIds: [] },
      {
        signal,
        waits: { ...waitsOf(platformOptions), installTimeoutMs },
        log,
        onCreated: (d) => {
          created = d.id;
          log.notice(`packet: device ${d.id} (${hostname}) created; waiting for it to be active`);
        },
        onActive: (d) => log.notice(`packet: device ${d.id} is active; waiting for the install`),
      },
    );
    const out = { id: installed.device.id, hostname, 'public-ip': installed.publicIp };
    io.result(out, `${JSON.stringify(out)}\n`);
    return 0;
  } catch (e) {
    if (created) {
      const id = created;
      try {
        await underFreshDeadline(`destroying device ${id}`, 6 * 60_000, (s) => destroyDevice(client, id, s));
        log.notice(`packet: device ${id} destroyed`);
      } catch (t) {
        log.error(`packet: device ${id} may be left behind (ore packet gc removes it): ${errorMessage(t)}`);
      }
    }
    throw e;
  } finally {
    storage.close();
  }
}
