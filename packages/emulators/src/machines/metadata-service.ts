import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { MetadataHandler, MetadataRequest } from './backend.js';

/**
 * The guest's metadata service, served in-process. QEMU's user network sends every guest connection
 * to `169.254.169.254:80` to a relay it starts for that connection (`guestfwd=…-cmd:`), which joins
 * it to this HTTP/1.1 server on the VM's unix socket: one guest TCP connection is one connection
 * here, so keep-alive and several requests per connection behave as on a real metadata service.
 * (A `guestfwd` chardev instead carries every guest connection over one stream, and slirp sends the
 * answers to whichever connection it finds first: two clients in the guest, such as Ignition's fetcher
 * and the AWS SDK it uses for the region, would read each other's answers.)
 */
export const metadataAddress = { host: '169.254.169.254', port: 80 } as const;

/**
 * The relay: perl (perl-base is Essential on Debian, and it starts in milliseconds, which matters as
 * it starts once per connection). stdin and stdout are the guest connection; stderr is that same
 * socket too, so the relay never writes to it.
 */
const relaySource = `# guestfwd relay: joins one guest connection (stdin/stdout) to the unix socket in ARGV[0]
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
open(STDERR, '>', '/dev/null');
my $up = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ARGV[0]) or exit 1;
sub put { my ($fh, $data) = @_; while (length $data) { my $n = syswrite($fh, $data); return 0 unless $n; substr($data, 0, $n) = ''; } return 1; }
my $pid = fork();
exit 1 unless defined $pid;
my $buf;
if ($pid == 0) {
  while (sysread(STDIN, $buf, 65536)) { put($up, $buf) or last; }
  shutdown($up, 1);
  exit 0;
}
while (sysread($up, $buf, 65536)) { put(\\*STDOUT, $buf) or last; }
kill('TERM', $pid);
exit 0;
`;

/** Writes the relay script into `dir` (once per backend) and returns its path. */
export function writeRelay(dir: string): string {
  const path = join(dir, 'metadata-relay.pl');
  writeFileSync(path, relaySource);
  chmodSync(path, 0o644);
  return path;
}

/** A word for GLib's shell-style argv parsing (what slirp applies to a `cmd:`): single-quoted. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The `guestfwd=` value of `-netdev user` (before QEMU's comma doubling) that reaches `socketPath`. */
export function guestForward(perl: string, relay: string, socketPath: string): string {
  return `tcp:${metadataAddress.host}:${metadataAddress.port}-cmd:${[perl, relay, socketPath].map(shellWord).join(' ')}`;
}

export interface MetadataServer {
  path: string;
  /** Requests answered so far, as `METHOD path status`. */
  readonly log: readonly string[];
  close(): Promise<void>;
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function answer(handler: MetadataHandler, req: IncomingMessage, res: ServerResponse, log: string[]) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const request: MetadataRequest = {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers: lowerCaseHeaders(req),
    body: Buffer.concat(chunks),
  };
  let status = 500;
  let headers: Record<string, string> = { 'content-type': 'text/plain' };
  let body: Buffer;
  try {
    const r = await handler(request);
    status = r.status;
    headers = { ...r.headers };
    body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  } catch (e) {
    body = Buffer.from(
      `the emulator's metadata handler failed: ${e instanceof Error ? e.message : String(e)}\n`,
    );
  }
  log.push(`${request.method} ${request.path} ${status}`);
  // never `connection: close` from the handler: the relay would end the guest's connection for it
  delete headers.connection;
  res.writeHead(status, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}

/** Serves `handler` over HTTP/1.1 on the unix socket `path` (replaced if it exists). */
export async function startMetadataServer(path: string, handler: MetadataHandler): Promise<MetadataServer> {
  rmSync(path, { force: true });
  const log: string[] = [];
  // one connection's requests are handled in order, pipelined or not, as HTTP/1.1 has them answered
  const queues = new WeakMap<Socket, Promise<void>>();
  const server: Server = createServer((req, res) => {
    const previous = queues.get(req.socket) ?? Promise.resolve();
    const current = previous
      .then(() => answer(handler, req, res, log))
      .catch(() => {
        res.destroy();
      });
    queues.set(req.socket, current);
  });
  // a guest's idle keep-alive connection stays open as long as the guest wants it
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    path,
    log,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(path, { force: true });
          resolve();
        });
      });
      return closing;
    },
  };
}
