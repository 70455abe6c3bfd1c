import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataRequest } from './backend.js';
import { guestForward, type MetadataServer, startMetadataServer, writeRelay } from './metadata-service.js';

let dir: string;
let server: MetadataServer | undefined;
const seen: MetadataRequest[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kola-md-test-'));
  seen.length = 0;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** What QEMU does per guest connection: runs the relay with the connection as its stdin and stdout. */
function relayConnection(relay: string, socket: string) {
  const child = spawn('perl', [relay, socket], { stdio: ['pipe', 'pipe', 'ignore'] });
  let received = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    send: (text: string) => child.stdin.write(text),
    end: () => child.stdin.end(),
    received: () => received,
    /** Resolves once `count` complete responses have arrived (bounded). */
    async responses(count: number): Promise<string[]> {
      const end = Date.now() + 5000;
      for (;;) {
        const parts = received.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
        const complete = parts.filter((p) => {
          const [head, body = ''] = p.split('\r\n\r\n');
          const length = Number(/content-length: (\d+)/i.exec(head ?? '')?.[1] ?? -1);
          return length >= 0 && Buffer.byteLength(body) >= length;
        });
        if (complete.length >= count) return complete;
        if (Date.now() > end) throw new Error(`only ${complete.length} of ${count} responses: ${received}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    closed,
  };
}

describe('the metadata service (unix socket + guestfwd relay)', () => {
  it('answers several requests on one guest connection, with their methods, headers and bodies', async () => {
    server = await startMetadataServer(join(dir, 'md.sock'), (req) => {
      seen.push(req);
      if (req.method === 'PUT') return { status: 200, body: `token-for-${req.headers['x-ttl']}` };
      return {
        status: req.path === '/missing' ? 404 : 200,
        headers: { 'x-kind': 'test' },
        body: Buffer.from(`got ${req.path}`),
      };
    });
    const relay = writeRelay(dir);
    const conn = relayConnection(relay, server.path);
    conn.send(
      'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-TTL: 60\r\nContent-Length: 3\r\n\r\nabc',
    );
    conn.send('GET /latest/user-data HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n');
    conn.send('GET /missing HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n');
    const [token, userData, missing] = await conn.responses(3);
    expect(token).toMatch(/^HTTP\/1\.1 200 /);
    expect(token).toMatch(/\r\n\r\ntoken-for-60$/);
    expect(userData).toMatch(/x-kind: test/);
    expect(userData).toMatch(/\r\n\r\ngot \/latest\/user-data$/);
    expect(missing).toMatch(/^HTTP\/1\.1 404 /);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/user-data',
      'GET /missing',
    ]);
    expect(seen[0]?.body.toString()).toBe('abc');
    expect(seen[0]?.headers['x-ttl']).toBe('60');
    expect(server.log).toEqual([
      'PUT /latest/api/token 200',
      'GET /latest/user-data 200',
      'GET /missing 404',
    ]);
    conn.end();
    expect(await conn.closed).toBe(0);
  });

  it('keeps two guest connections apart: each reads its own answers', async () => {
    server = await startMetadataServer(join(dir, 'md.sock'), async (req) => {
      // the first connection's answer comes last: a shared stream would hand it to the other one
      if (req.path === '/slow') await new Promise((r) => setTimeout(r, 200));
      return { status: 200, body: req.path };
    });
    const relay = writeRelay(dir);
    const a = relayConnection(relay, server.path);
    const b = relayConnection(relay, server.path);
    a.send('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    b.send('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    const [fromB] = await b.responses(1);
    const [fromA] = await a.responses(1);
    expect(fromA).toMatch(/\r\n\r\n\/slow$/);
    expect(fromB).toMatch(/\r\n\r\n\/fast$/);
    a.end();
    b.end();
    await Promise.all([a.closed, b.closed]);
  });

  it('answers 500 with the reason when the handler throws, and the connection goes on', async () => {
    server = await startMetadataServer(join(dir, 'md.sock'), (req) => {
      if (req.path === '/boom') throw new Error('no such instance');
      return { status: 200, body: 'ok' };
    });
    const conn = relayConnection(writeRelay(dir), server.path);
    conn.send('GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /fine HTTP/1.1\r\nHost: x\r\n\r\n');
    const [boom, fine] = await conn.responses(2);
    expect(boom).toMatch(/^HTTP\/1\.1 500 [\s\S]*no such instance/);
    expect(fine).toMatch(/\r\n\r\nok$/);
    conn.end();
    await conn.closed;
  });

  it("builds QEMU's guestfwd for the provider's metadata address, every word quoted for slirp", () => {
    expect(guestForward('/usr/bin/perl', '/tmp/x/relay.pl', "/tmp/it's/md.sock")).toBe(
      "tcp:169.254.169.254:80-cmd:'/usr/bin/perl' '/tmp/x/relay.pl' '/tmp/it'\\''s/md.sock'",
    );
  });
});
