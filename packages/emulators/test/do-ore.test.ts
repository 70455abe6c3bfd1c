import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '@mantle/cluster';
import { sshKeyFingerprint, tagMap } from '@mantle/platform-api-do';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { clientOf, objectKeys, oreDo, rawDisk, serveBody, writeImage } from './support/do-ore.js';

// Every `ore do` verb as a real `ore` process (the built CLI) against the DigitalOcean emulator, API
// state only (`none` machines). Every request and answer is checked against DigitalOcean's spec.

let emulator: DoEmulator;
let dir: string;
const lines: string[] = [];

beforeAll(async () => {
  emulator = await startDoEmulator({
    machines: 'none',
    timing: { bootMs: 100, actionMs: 100, importMs: 100 },
    log: (line) => lines.push(line),
  });
  dir = mkdtempSync(join(tmpdir(), 'do-ore-'));
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => expectNoViolations(emulator));

const fast = ['--poll-interval', '50ms'];

describe('ore do (process) on the emulator', () => {
  it('create-image --url: a custom image, tagged, transferred to each --region; list-images and delete-image see it', async () => {
    const served = await serveBody(rawDisk(1024 * 1024));
    try {
      const made = await oreDo(emulator, [
        'create-image',
        '--name',
        'cli-url',
        '--url',
        served.url('/images/disk.raw'),
        '--region',
        'sfo2',
        '--region',
        'nyc3',
        '--expires-in',
        '1d',
        ...fast,
      ]);
      expect(made.stderr).not.toMatch(/ERROR|WARN/);
      expect(made.code).toBe(0);
      const result = JSON.parse(made.stdout) as { id: number; name: string; regions: string[] };
      expect(result.name).toBe('cli-url');
      expect([...result.regions].sort()).toEqual(['nyc3', 'sfo2']);
      expect(made.stderr).toMatch(new RegExp(`do: image cli-url \\(${result.id}\\): available after \\d`));

      const image = await clientOf(emulator).image(result.id, AbortSignal.timeout(5000));
      expect(image).toMatchObject({ status: 'available', type: 'custom', name: 'cli-url' });
      expect([...(image?.regions ?? [])].sort()).toEqual(['nyc3', 'sfo2']);
      const tags = tagMap(image?.tags);
      expect(Object.keys(tags).sort()).toEqual(['expires-at', 'mantle']);
      expect(Date.parse(tags['expires-at']!) - Date.now()).toBeGreaterThan(23 * 3600_000);

      const listed = await oreDo(emulator, ['list-images', '--json']);
      expect(listed.code).toBe(0);
      const mine = (
        JSON.parse(listed.stdout) as Array<{ id: number; ore: boolean; expiresAt?: string }>
      ).find((i) => i.id === result.id);
      expect(mine).toMatchObject({ ore: true, expiresAt: tags['expires-at'] });
      // the test image the emulator ships is the account's too, but ore did not make it
      expect(JSON.parse(listed.stdout)).toContainEqual(
        expect.objectContaining({ id: emulator.imageId, ore: false }),
      );

      const deleted = await oreDo(emulator, ['delete-image', '--name', 'cli-url']);
      expect(deleted.code).toBe(0);
      expect(deleted.stdout).toBe(`deleted image ${result.id} (cli-url)\n`);
      expect(await clientOf(emulator).image(result.id, AbortSignal.timeout(5000))).toBeUndefined();
      const again = await oreDo(emulator, ['delete-image', '--name', 'cli-url']);
      expect(again.code).toBe(2);
      expect(again.stderr).toBe('ore: --name cli-url: no image of yours has that name\n');
    } finally {
      await served.close();
    }
  });

  it('create-image --file: staged in Spaces behind a presigned URL, which DigitalOcean reads; the object goes once available', async () => {
    const file = join(dir, 'disk.raw');
    const bytes = 3 * 1024 * 1024 + 17;
    writeImage(file, bytes);
    const made = await oreDo(emulator, ['create-image', '--name', 'cli-file', '--file', file, ...fast, '-v']);
    expect(made.code).toBe(0);
    const result = JSON.parse(made.stdout) as { id: number; regions: string[] };
    expect(result.regions).toEqual(['sfo2']);
    // the emulator fetched the presigned URL and read every byte of the file through it
    expect(lines).toContain(`do: image ${result.id} (cli-file) imported: ${bytes} bytes, raw (MBR)`);
    expect(made.stderr).toMatch(
      /upload disk\.raw: staged as kola-images\/mantle-staging\/cli-file-[0-9a-f]{8}\/disk\.raw/,
    );
    expect(made.stderr).toMatch(/deleted the staged object kola-images\/mantle-staging\/cli-file-/);
    expect(await objectKeys(emulator, 'mantle-staging/')).toEqual([]);
    await clientOf(emulator).deleteImage(result.id, AbortSignal.timeout(5000));
  });

  it('create-image from a URL DigitalOcean cannot read fails, and leaves no image behind', async () => {
    const served = await serveBody('x');
    try {
      const made = await oreDo(emulator, [
        'create-image',
        '--name',
        'cli-bad',
        '--url',
        served.url('/nothing.raw'),
        ...fast,
      ]);
      expect(made.code).toBe(3);
      expect(made.stdout).toBe('');
      expect(made.stderr).toMatch(/^ore: do images_create_custom: /m);
      const images = await clientOf(emulator).userImages(AbortSignal.timeout(5000));
      expect(images.filter((i) => i.name === 'cli-bad' && i.status !== 'deleted')).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('list-keys prints names; delete-keys deletes by name and exits 1 for a name no key has (as mantle)', async () => {
    const client = clientOf(emulator);
    const signal = AbortSignal.timeout(5000);
    for (const name of ['laptop', 'ci-runner', 'ci-runner']) {
      const pub = generateEd25519KeyPair(name).public.trim();
      await client.createSshKey(name, pub, sshKeyFingerprint(pub), signal);
    }
    const listed = await oreDo(emulator, ['list-keys']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(['ci-runner', 'ci-runner', 'laptop']);

    const deleted = await oreDo(emulator, ['delete-keys', 'ci-runner', 'no-such-key', '--json']);
    expect(deleted.code).toBe(1);
    expect(JSON.parse(deleted.stdout)).toEqual({
      deleted: ['ci-runner', 'ci-runner'],
      missing: ['no-such-key'],
      failed: [],
    });
    expect(deleted.stderr).toContain('no SSH key named no-such-key');
    expect((await client.sshKeys(signal)).map((k) => k.name)).toEqual(['laptop']);
    expect((await oreDo(emulator, ['delete-keys', 'laptop'])).code).toBe(0);
  });

  it('bad token, flags or input: one line, exit 2, nothing made', async () => {
    const cases: Array<{ args: string[]; env?: Record<string, string>; line: RegExp }> = [
      {
        args: ['list-keys'],
        env: { DIGITALOCEAN_TOKEN: 'dop_v1_wrong' },
        line: /^ore: do sshKeys_list: the API token was refused: Unable to authenticate you \(check --do-token/,
      },
      {
        args: ['list-images', '--do-region', 'nowhere'],
        line: /^ore: --do-region: must be a region slug like sfo2$/,
      },
      {
        args: ['create-image', '--name', 'x'],
        line: /^ore: create-image: give --file or --url \(one of them\)$/,
      },
      {
        args: ['create-image', '--name', 'x', '--url', 'http://127.0.0.1:9/x', '--expires-in', 'soon'],
        line: /^ore: --expires-in: /,
      },
      {
        args: [
          'create-image',
          '--name',
          'x',
          '--url',
          'http://127.0.0.1:9/x',
          '--method',
          'snapshot',
          '--do-image',
          'no-such-image',
        ],
        line: /^ore: --do-image "no-such-image": no image of yours with that name in sfo2$/,
      },
    ];
    const before = await clientOf(emulator).userImages(AbortSignal.timeout(5000));
    for (const c of cases) {
      const r = await oreDo(emulator, c.args, c.env);
      expect(r.code, c.args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), c.args.join(' ')).toHaveLength(1);
      expect(r.stderr.trimEnd(), c.args.join(' ')).toMatch(c.line);
    }
    expect(await clientOf(emulator).userImages(AbortSignal.timeout(5000))).toEqual(before);
    expect(emulator.droplets()).toEqual([]);
  });
});
