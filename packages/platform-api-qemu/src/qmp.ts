import { connect, type Socket } from 'node:net';
import { PlatformApiError, sleep } from '@mantle/cluster';

/**
 * A minimal QMP client (QEMU's JSON control protocol) over the VM's unix socket: enough to read the
 * forwarded SSH port, ask for ACPI power-off and quit.
 */
export class QmpClient {
  private buffer = '';
  private readonly waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
      }
    });
    socket.on('close', () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    });
    socket.on('error', () => {});
  }

  /** Connects (retrying while QEMU creates the socket) and negotiates capabilities. */
  static async connect(path: string, signal: AbortSignal, timeoutMs = 10_000): Promise<QmpClient> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.next(); // greeting
        await client.execute('qmp_capabilities');
        return client;
      } catch (e) {
        if (Date.now() > end) {
          throw new PlatformApiError({ platform: 'qemu', operation: 'QMP connect' }, (e as Error).message);
        }
        await sleep(100, signal);
      }
    }
  }

  private onMessage(message: Record<string, unknown>): void {
    if ('event' in message) return; // events (SHUTDOWN, POWERDOWN, …) are not waited on
    const w = this.waiting.shift();
    if (!w) return;
    if ('error' in message) {
      const err = message.error as { desc?: string };
      w.reject(new PlatformApiError({ platform: 'qemu', operation: 'QMP' }, err.desc ?? 'error'));
    } else w.resolve(message.return ?? message);
  }

  private next(): Promise<unknown> {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.next();
    this.socket.write(
      `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
    );
    return reply;
  }

  async humanMonitor(commandLine: string): Promise<string> {
    return String(await this.execute('human-monitor-command', { 'command-line': commandLine }));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The host port QEMU picked for `hostfwd=tcp:127.0.0.1:0-:22`, from `info usernet`. */
export function parseForwardedPort(usernet: string, guestPort = 22): number | undefined {
  for (const line of usernet.split('\n')) {
    const m = /HOST_FORWARD\]?\s+\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (m && Number(m[4]) === guestPort) return Number(m[2]);
  }
  return undefined;
}
