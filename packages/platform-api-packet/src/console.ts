import { createWriteStream, type WriteStream } from 'node:fs';
import { errorMessage, type Logger } from '@mantle/cluster';
import type { Client } from 'ssh2';

/**
 * The device's serial console through SOS (§5.6): SSH as the device id with the flight's key, a shell
 * whose stdin is never written, its output teed into `console-<device>.txt` as it comes and kept
 * for `console.txt`. The stream ends when the device is deleted. Any failure is logged, never thrown:
 * a console is evidence, not a reason to fail a machine.
 */
export class SosConsole {
  private text = '';
  private readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor(
    private readonly client: Client,
    private readonly file: WriteStream,
  ) {
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  static async open(o: {
    endpoint: string;
    deviceId: string;
    privateKey: string;
    file: string;
    log: Logger;
  }): Promise<SosConsole> {
    const { default: ssh2 } = await import('ssh2');
    const [host, port] = splitEndpoint(o.endpoint);
    const client = new ssh2.Client();
    const sos = new SosConsole(client, createWriteStream(o.file, { flags: 'a' }));
    client.on('ready', () => {
      client.shell(false, (e, channel) => {
        if (e) {
          o.log.warn(`packet: SOS console of ${o.deviceId}: ${errorMessage(e)}`);
          return sos.close();
        }
        channel.on('data', (chunk: Buffer) => sos.append(chunk.toString('utf8')));
        channel.stderr.on('data', () => {});
        channel.on('close', () => sos.close());
      });
    });
    client.on('error', (e) => {
      o.log.warn(`packet: SOS console of ${o.deviceId} at ${o.endpoint}: ${errorMessage(e)}`);
      sos.close();
    });
    client.on('close', () => sos.close());
    client.connect({
      host,
      port,
      username: o.deviceId,
      privateKey: o.privateKey,
      readyTimeout: 30_000,
      // SOS host keys are not published; the session only reads a console
      hostVerifier: () => true,
    });
    return sos;
  }

  private append(chunk: string): void {
    this.text += chunk;
    this.file.write(chunk);
  }

  /** mantle's trim: the installed system's boot from `GNU GRUB` on, without the installer's before it. */
  output(): string {
    const at = this.text.indexOf('GNU GRUB');
    return at >= 0 ? this.text.slice(at) : this.text;
  }

  /** Waits (bounded) for SOS to end the stream, as it does once the device is deleted. */
  async ended(ms: number): Promise<void> {
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, ms).unref())]);
  }

  close(): void {
    this.client.end();
    if (!this.file.closed && !this.file.writableEnded) this.file.end();
    this.markClosed();
  }
}

function splitEndpoint(endpoint: string): [string, number] {
  const m = /^(.+?)(?::(\d+))?$/.exec(endpoint)!;
  return [m[1]!, m[2] ? Number(m[2]) : 22];
}
