import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateIgnition } from '@mantle/cluster';
import { installUrlOf, tagMap } from '@mantle/platform-api-do';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import {
  clientOf,
  eventually,
  objectKeys,
  recordMetadata,
  startOreDo,
  userDataOf,
  writeImage,
} from './support/do-ore.js';

// `ore do create-image --method snapshot` and Ctrl-C during either method, as `ore` processes
// against the emulator (`none` machines).
//
// On these machines nothing runs a guest's userdata, so the snapshot test stands in for the guest,
// explicitly: it reads the helper droplet's userdata from the droplet's metadata service (what the
// guest's Ignition reads), validates it as Ignition, fetches the image URL it names (as the guest's
// shutdown script would) and checks the bytes, then powers the droplet off through the API, as the
// guest's `poweroff -f` would. Booting it for real is the qemu backend's proof.

let emulator: DoEmulator;
let dir: string;
let metadata: ReturnType<typeof recordMetadata>;

beforeAll(async () => {
  emulator = await startDoEmulator({
    machines: 'none',
    // imports take long enough here for a Ctrl-C to land while ore waits for one
    timing: { bootMs: 100, actionMs: 200, importMs: 60_000 },
    log: () => {},
  });
  metadata = recordMetadata(emulator);
  dir = mkdtempSync(join(tmpdir(), 'do-create-image-'));
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => expectNoViolations(emulator));

const signal = () => AbortSignal.timeout(10_000);
const common = ['--poll-interval', '50ms', '--do-image', () => String(emulator.imageId)] as const;
const args = (...rest: string[]) => [...rest, ...common.map((a) => (typeof a === 'function' ? a() : a))];

/** Nothing create-image makes for itself is left: droplets, keys, staged objects. */
async function expectNoHelpers(): Promise<void> {
  const client = clientOf(emulator);
  expect(emulator.droplets()).toEqual([]);
  expect((await client.sshKeys(signal())).map((k) => k.name)).toEqual([]);
  expect(await objectKeys(emulator, 'mantle-staging/')).toEqual([]);
}

/** The helper droplet ore made (tagged mantle and kola-run:kola-ore-…), once it is active. */
function helperDroplet() {
  return eventually('for the helper droplet to be active', async () => {
    const d = (await clientOf(emulator).dropletsByTag('mantle', signal()))[0];
    return d?.status === 'active' && metadata.has(String(d.id)) ? d : undefined;
  });
}

describe('ore do create-image --method snapshot (the test stands in for the guest)', () => {
  it('boots a helper with the install config, snapshots it once off, tags the snapshot, removes every helper', async () => {
    const file = join(dir, 'disk.raw');
    writeImage(file, 2 * 1024 * 1024);
    const run = startOreDo(
      emulator,
      args(
        'create-image',
        '--name',
        'cli-snap',
        '--file',
        file,
        '--method',
        'snapshot',
        '--expires-in',
        '2d',
      ),
    );
    const droplet = await helperDroplet();
    expect(droplet.name).toBe('cli-snap-install');
    expect(tagMap(droplet.tags)).toEqual({
      mantle: '',
      'kola-run': expect.stringMatching(/^kola-ore-[0-9a-f]{8}$/),
    });
    const key = (await clientOf(emulator).sshKeys(signal()))[0];
    expect(key?.name).toMatch(new RegExp(`^${tagMap(droplet.tags)['kola-run']}-t\\d{10}$`));

    // the guest: read the userdata, check it, fetch the image the way its shutdown script would
    const config = JSON.parse(await userDataOf(metadata, droplet.id));
    expect(() => validateIgnition(config)).not.toThrow();
    const url = installUrlOf(config)!;
    expect(url).toContain(`${emulator.spaces.endpoint}/${emulator.spaces.bucket}/mantle-staging/cli-snap-`);
    const fetched = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(fetched.equals(readFileSync(file))).toBe(true);
    // …then power off, as the script's `poweroff -f` does
    await clientOf(emulator).dropletAction(droplet.id, { type: 'power_off' }, signal());

    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    const result = JSON.parse(done.stdout) as { id: number; name: string; regions: string[] };
    expect(result).toMatchObject({ name: 'cli-snap', regions: ['sfo2'] });
    const image = await clientOf(emulator).image(result.id, signal());
    expect(image).toMatchObject({ type: 'snapshot', name: 'cli-snap' });
    expect(Object.keys(tagMap(image?.tags)).sort()).toEqual(['expires-at', 'mantle']);
    expect(done.stderr).toMatch(/do: helper droplet \d+: off: the image is on its disk after/);
    await expectNoHelpers();
    await clientOf(emulator).deleteImage(result.id, signal());
  });

  it('a helper that never powers off times out, and still leaves nothing', async () => {
    const run = startOreDo(
      emulator,
      args(
        'create-image',
        '--name',
        'cli-stuck',
        '--url',
        'http://127.0.0.1:9/x.raw',
        '--method',
        'snapshot',
        '--install-timeout',
        '1s',
      ),
    );
    const done = await run.done;
    expect(done.code).toBe(3);
    expect(done.stderr).toMatch(/timed out after 1s for helper droplet \d+ to write the image and power off/);
    await expectNoHelpers();
  });
});

describe('Ctrl-C during create-image leaves nothing', () => {
  it('--method custom with a --file: the staged object and the unfinished image go', async () => {
    const file = join(dir, 'disk2.raw');
    writeImage(file, 1024 * 1024);
    const run = startOreDo(emulator, args('create-image', '--name', 'cli-int', '--file', file));
    // the import takes a minute here: interrupt while ore waits for it
    await eventually('for ore to wait on the import', async () =>
      /DigitalOcean is making image/.test(run.stderr()) ? true : undefined,
    );
    expect(await objectKeys(emulator, 'mantle-staging/')).toHaveLength(1);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    expect(done.stdout).toBe('');
    await expectNoHelpers();
    const left = await clientOf(emulator).userImages(signal());
    expect(left.filter((i) => i.name === 'cli-int')).toEqual([]);
  });

  it('--method snapshot: the helper droplet, its key and the staged object go', async () => {
    const file = join(dir, 'disk3.raw');
    writeImage(file, 1024 * 1024);
    const run = startOreDo(
      emulator,
      args('create-image', '--name', 'cli-int2', '--file', file, '--method', 'snapshot'),
    );
    await helperDroplet();
    expect(await objectKeys(emulator, 'mantle-staging/')).toHaveLength(1);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    await expectNoHelpers();
  });
});
