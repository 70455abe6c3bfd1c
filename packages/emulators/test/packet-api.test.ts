import { generateEd25519KeyPair } from '@mantle/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoViolations } from '../src/http/violations.js';
import { type PacketEmulator, startPacketEmulator } from '../src/packet/emulator.js';
import { presignGet } from './support/presign.js';

// The Metal API emulator at the HTTP level: every request and answer checked against the spec.
let emulator: PacketEmulator;
beforeAll(async () => {
  emulator = await startPacketEmulator({
    machines: 'none',
    timing: { queuedMs: 20, provisionMs: 50, installMs: 100 },
    log: () => {},
  });
});
afterAll(() => emulator?.stop());

async function call(method: string, path: string, body?: unknown, token: string | null = emulator.token) {
  const headers: Record<string, string> = {};
  if (token !== null) headers['x-auth-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${emulator.endpoint}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the API answered
  return { status: r.status, body: text ? (JSON.parse(text) as any) : undefined };
}

/** Stages an object in the emulator's storage with moto's S3 API and returns its presigned http URL. */
async function stage(key: string, text: string): Promise<string> {
  const s = emulator.storage;
  const put = await fetch(`${s.endpoint}/${s.bucket}/${key}`, {
    method: 'PUT',
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=${s.accessKeyId}/20260101/${s.region}/s3/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: text,
  });
  expect(put.status).toBe(200);
  return presignGet({ ...s, key, expiresIn: 600 });
}

async function until(id: string, state: string) {
  for (let i = 0; i < 200; i++) {
    const d = await call('GET', `/devices/${id}`);
    if (d.body.state === state) return d.body;
    if (d.body.state === 'failed' && state !== 'failed')
      throw new Error(`device failed: ${emulator.device(id)?.failure}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`device ${id} never ${state}`);
}

const installerConfig = (userData: string) =>
  JSON.stringify({
    ignition: { version: '2.0.0' },
    storage: {
      files: [
        {
          filesystem: 'root',
          path: '/userdata',
          contents: { source: `data:,${encodeURIComponent(userData)}` },
        },
      ],
    },
  });

describe('the Equinix Metal emulator', () => {
  it('refuses a request without the API key', async () => {
    const r = await call('GET', `/projects/${emulator.projectId}/devices`, undefined, null);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ errors: ['Invalid authentication token'] });
  });

  it('project keys: create, list, refuse a duplicate, delete', async () => {
    const pub = generateEd25519KeyPair('t').public.trim();
    const made = await call('POST', `/projects/${emulator.projectId}/ssh-keys`, {
      label: 'kola-a',
      key: pub,
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ label: 'kola-a', key: pub });
    expect(made.body.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(
      (await call('POST', `/projects/${emulator.projectId}/ssh-keys`, { label: 'b', key: pub })).status,
    ).toBe(422);
    const listed = await call('GET', `/projects/${emulator.projectId}/ssh-keys`);
    expect(listed.body.ssh_keys.map((k: { label: string }) => k.label)).toEqual(['kola-a']);
    expect((await call('DELETE', `/ssh-keys/${made.body.id}`)).status).toBe(204);
    expect((await call('DELETE', `/ssh-keys/${made.body.id}`)).status).toBe(404);
    expectNoViolations(emulator);
  });

  it('a custom_ipxe device follows its iPXE script to the installer config; queued → provisioning → active; the discard port ends the install', async () => {
    const userData = '{"ignition":{"version":"3.3.0"}}';
    const configUrl = await stage('kola/host-config', installerConfig(userData));
    const scriptUrl = await stage(
      'kola/host-ipxe',
      `#!ipxe\nset base-url http://example.invalid\nkernel \${base-url}/vmlinuz initrd=i.cpio.gz coreos.first_boot=1 coreos.config.url=${configUrl}\ninitrd \${base-url}/i.cpio.gz\nboot\n`,
    );
    const made = await call('POST', `/projects/${emulator.projectId}/devices`, {
      metro: 'sv',
      plan: 'c3.small.x86',
      operating_system: 'custom_ipxe',
      ipxe_script_url: scriptUrl,
      hostname: 'kola-host',
      billing_cycle: 'hourly',
      tags: ['mantle', 'kola-run:r1'],
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      state: 'queued',
      hostname: 'kola-host',
      tags: ['mantle', 'kola-run:r1'],
    });
    const active = await until(made.body.id, 'active');
    const publicIp = active.ip_addresses.find((a: { public: boolean }) => a.public).address;
    expect(publicIp).toMatch(/^127\./);
    expect(emulator.device(made.body.id)?.installedUserData).toBe(userData);
    const { connect } = await import('node:net');
    const socket = connect(9, publicIp);
    const ended = await new Promise<string>((resolve, reject) => {
      socket.on('end', () => resolve('eof'));
      socket.on('error', reject);
      socket.resume();
    });
    expect(ended).toBe('eof');
    socket.destroy();
    expect((await call('DELETE', `/devices/${made.body.id}`)).status).toBe(204);
    expect((await call('GET', `/devices/${made.body.id}`)).status).toBe(404);
    expectNoViolations(emulator);
  });

  it('fails a device whose script is https, and refuses facilities and non-iPXE installs', async () => {
    const bad = await call('POST', `/projects/${emulator.projectId}/devices`, {
      metro: 'sv',
      plan: 'c3.small.x86',
      operating_system: 'custom_ipxe',
      ipxe_script_url: 'https://example.invalid/ipxe',
    });
    await until(bad.body.id, 'failed');
    expect(emulator.device(bad.body.id)?.failure).toContain('iPXE fetches only http://');
    await call('DELETE', `/devices/${bad.body.id}`);
    const facility = await call('POST', `/projects/${emulator.projectId}/devices`, {
      facility: ['sjc1'],
      plan: 'c3.small.x86',
      operating_system: 'custom_ipxe',
      ipxe_script_url: 'http://x/y',
    });
    expect(facility.status).toBe(422);
    expect(facility.body.errors[0]).toContain('metro');
    const os = await call('POST', `/projects/${emulator.projectId}/devices`, {
      metro: 'sv',
      plan: 'c3.small.x86',
      operating_system: 'flatcar_stable',
    });
    expect(os.status).toBe(422);
    expectNoViolations(emulator);
  });

  it('pages devices by meta.next, filters by tag; a locked device is not deleted', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call('POST', `/projects/${emulator.projectId}/devices`, {
        metro: 'da',
        plan: 'c3.small.x86',
        operating_system: 'custom_ipxe',
        ipxe_script_url: 'http://127.0.0.1:1/none',
        tags: i % 2 ? ['other'] : ['mantle'],
      });
      ids.push(r.body.id);
    }
    const seen: string[] = [];
    let next: string | undefined = `/projects/${emulator.projectId}/devices?tag=mantle&per_page=2`;
    let pages = 0;
    while (next) {
      const page = await call('GET', next);
      pages++;
      seen.push(...page.body.devices.map((d: { id: string }) => d.id));
      next = page.body.meta.next?.href;
    }
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual([ids[0], ids[2], ids[4]].sort());
    expect((await call('PUT', `/devices/${ids[0]}`, { locked: true })).body.locked).toBe(true);
    expect((await call('DELETE', `/devices/${ids[0]}`)).status).toBe(422);
    await call('PUT', `/devices/${ids[0]}`, { locked: false });
    for (const id of ids) expect((await call('DELETE', `/devices/${id}`)).status).toBe(204);
    expectNoViolations(emulator);
  });
});
