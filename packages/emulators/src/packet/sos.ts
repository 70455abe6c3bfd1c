import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateHostKey } from '@mantle/cluster/testing';
import ssh2 from 'ssh2';
import { parsePublicKey } from '../do/ssh-key.js';
import type { DeviceRecord, PacketState } from './state.js';

/**
 * SOS (serial over SSH), `sos.<facility>.platformequinix.com` on the real service: the user is the
 * device id, the keys are the project's; a shell streams the device's serial console from its start
 * and follows it until the device is deleted, then closes. What is typed is ignored (the real SOS
 * forwards it to the serial port; kola never writes).
 */
export interface SosServer {
  /** `127.0.0.1:<port>` */
  endpoint: string;
  /** Sessions open now, by device id (tests check they end with their device). */
  sessions(): string[];
  close(): Promise<void>;
}

/** The device's serial console as SOS shows it: the install boot, then the installed system's. */
export function deviceConsole(d: DeviceRecord): string {
  const lines = [`iPXE initialising devices...ok`, `http://…/ipxe... ok (${d.hostname})`];
  if (d.installedUserData !== undefined)
    lines.push(
      'Linux version 6.6.0-flatcar (installer)',
      'flatcar-install: installing',
      'reboot: Restarting system',
    );
  let text = `${lines.join('\r\n')}\r\n`;
  if (d.machine)
    text += `GNU GRUB  version 2.06\r\nLinux version 6.6.0-flatcar\r\n${d.machine.consoleOutput()}`;
  return text;
}

export async function startSosServer(state: PacketState): Promise<SosServer> {
  const open = new Map<string, number>();
  const clients = new Set<ssh2.Connection>();
  const server = new ssh2.Server({ hostKeys: [generateHostKey()] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    let device: DeviceRecord | undefined;
    client.on('authentication', (ctx) => {
      const d = state.devices.get(ctx.username);
      if (!d || ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const allowed = d.sshKeyIds
        .map((id) => state.keys.get(id)?.key)
        .concat(
          [...state.keys.values()].filter((k) => k.owner === `projects/${state.projectId}`).map((k) => k.key),
        )
        .some((line) => {
          const blob = line ? parsePublicKey(line)?.blob : undefined;
          return (
            blob !== undefined && blob.length === ctx.key.data.length && timingSafeEqual(blob, ctx.key.data)
          );
        });
      if (!allowed) return ctx.reject(['publickey']);
      device = d;
      ctx.accept();
    });
    client.on('error', () => {});
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (ok) => ok?.());
        session.on('shell', (ok) => {
          const channel = ok();
          const d = device!;
          open.set(d.id, (open.get(d.id) ?? 0) + 1);
          let sent = 0;
          let ended = false;
          const release = () => {
            if (ended) return;
            ended = true;
            clearInterval(timer);
            const left = (open.get(d.id) ?? 1) - 1;
            if (left > 0) open.set(d.id, left);
            else open.delete(d.id);
          };
          const pump = () => {
            const text = deviceConsole(d);
            if (text.length > sent) {
              channel.write(text.slice(sent));
              sent = text.length;
            }
            if (!state.devices.has(d.id)) end();
          };
          const timer = setInterval(pump, 100);
          const end = () => {
            if (ended) return;
            release();
            channel.exit(0);
            channel.end();
            client.end();
          };
          channel.on('data', () => {});
          channel.on('close', release);
          pump();
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions: () => [...open.keys()],
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}
