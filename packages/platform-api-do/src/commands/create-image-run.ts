import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import {
  CleanupError,
  DisposableStack,
  expiryFrom,
  generateEd25519KeyPair,
  type Logger,
  once,
  PlatformApiError,
  parseDuration,
  pollEvery,
  UsageError,
  underFreshDeadline,
} from '@mantle/cluster';
import type { DoClient } from '../api/client.js';
import type { Image } from '../api/schemas.js';
import { createDoClient } from '../credentials.js';
import { createDroplet, defaultWaits, destroyDroplet } from '../droplets.js';
import { resolveImage } from '../image-spec.js';
import { requireSpaces, Spaces, stagingKey } from '../spaces.js';
import { expiryTag, ownerTag, runTag, sshKeyFingerprint, sshKeyName } from '../tags.js';
import { type Pace, statusLines, transferToRegions, waitAction, waitImageAvailable } from './common.js';
import { installConfig } from './install-config.js';
import type { createImageOptions, DoVerbInput } from './schemas.js';

type Input = DoVerbInput<typeof createImageOptions>;

/** How long DigitalOcean (or the helper droplet) may take to fetch a staged image. */
const presignSeconds = 6 * 3600;
const cleanupMs = 5 * 60_000;

/**
 * `ore do create-image`: a custom image from a URL (a local --file staged in Spaces first), or
 * mantle's snapshot workaround; then transfers to every further --region. Prints
 * `{"id","name","regions"}`. Every helper (staged object, helper droplet and key, an image that never
 * became available) is removed on success, failure and Ctrl-C, each under a deadline of its own.
 */
export async function runCreateImage(input: Input): Promise<number> {
  const { options: o, platformOptions: p, signal, log, io } = input;
  if (Boolean(o.file) === Boolean(o.url))
    throw new UsageError('create-image: give --file or --url (one of them)');
  if (o.method === 'custom' && (o.busyboxUrl || o.busyboxSha256))
    throw new UsageError('--busybox-url and --busybox-sha256 are for --method snapshot');
  if (Boolean(o.busyboxUrl) !== Boolean(o.busyboxSha256))
    throw new UsageError('--busybox-url and --busybox-sha256: give both or neither');
  if (o.url && !/^https?:\/\//.test(o.url)) throw new UsageError(`--url ${o.url}: must be http or https`);
  const regions = [...new Set(o.region.length ? o.region : [p.region])];
  const expiresAt = expiryFrom(o);
  const pace: Pace = {
    intervalMs: parseDuration(o.pollInterval, '--poll-interval'),
    timeoutMs: parseDuration(o.timeout, '--timeout'),
    signal,
  };
  const installTimeoutMs = parseDuration(o.installTimeout, '--install-timeout');
  const spaces = o.file ? requireSpaces(p, '--file') : undefined;
  if (o.file) {
    try {
      if (!statSync(o.file).isFile()) throw new Error('not a file');
    } catch (e) {
      throw new UsageError(`--file ${o.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  const client = createDoClient(p, log);
  await client.account(signal);
  const tags = [ownerTag, ...(expiresAt ? [expiryTag(expiresAt)] : [])];
  const helpers = new DisposableStack();
  let image: Image;
  try {
    let url = o.url ?? '';
    let removeStaged = async () => {};
    if (o.file && spaces) ({ url, removeStaged } = await stage(input, helpers, o.file, spaces));
    image =
      o.method === 'custom'
        ? await viaCustomImage(input, client, helpers, { url, region: regions[0]!, tags, pace, removeStaged })
        : await viaSnapshot(input, client, helpers, {
            url,
            region: regions[0]!,
            tags,
            pace,
            installTimeoutMs,
            removeStaged,
          });
  } catch (e) {
    return helpers.rollBack(e);
  }
  let done: string[];
  try {
    done = await transferToRegions(client, image, regions, pace, log);
  } catch (e) {
    log.error(`do: image ${image.id} (${o.name}) was made in ${regions[0]} and stays; a transfer failed`);
    return helpers.rollBack(e);
  }
  const result = { id: image.id, name: o.name, regions: done };
  io.result(result, `${JSON.stringify(result)}\n`);
  await helpers.disposeAsync().catch((e: unknown) => {
    throw e instanceof CleanupError
      ? new CleanupError('a helper of create-image may be left behind', e.errors)
      : e;
  });
  return 0;
}

/** Uploads --file under `mantle-staging/` and presigns a GET for it; the object goes with the helpers. */
async function stage(
  input: Input,
  helpers: DisposableStack,
  file: string,
  settings: ReturnType<typeof requireSpaces>,
): Promise<{ url: string; removeStaged: () => Promise<void> }> {
  const { log, io, signal } = input;
  // adopted first, so it closes after everything that uses it
  const spaces = helpers.adopt(await Spaces.open(settings), (s) => s.close());
  const key = stagingKey(input.options.name, file);
  const removeStaged = once(async () => {
    await underFreshDeadline(`deleting staged object ${key}`, cleanupMs, (s) => spaces.delete(key, s));
    log.info(`do: deleted the staged object ${settings.bucket}/${key}`);
  });
  // registered before the upload: an interrupted PUT may still have landed
  helpers.defer(removeStaged);
  const size = statSync(file).size;
  const progress = io.progress(`upload ${basename(file)}`, { total: size, unit: 'bytes' });
  await spaces.put(key, file, { signal, onBytes: (n) => progress.advance(n) });
  progress.done(`staged as ${settings.bucket}/${key}`);
  return { url: await spaces.presignGet(key, presignSeconds), removeStaged };
}

interface MethodInput {
  url: string;
  region: string;
  tags: string[];
  pace: Pace;
  removeStaged: () => Promise<void>;
}

/** POST /v2/images with the URL; waits for `available`. An image that never got there is deleted. */
async function viaCustomImage(
  input: Input,
  client: DoClient,
  helpers: DisposableStack,
  m: MethodInput,
): Promise<Image> {
  const { options: o, log, signal } = input;
  const made = await client.createCustomImage(
    {
      name: o.name,
      url: m.url,
      region: m.region,
      tags: m.tags,
      ...(o.distribution ? { distribution: o.distribution } : {}),
    },
    signal,
  );
  let available = false;
  helpers.defer(async () => {
    if (available) return;
    await underFreshDeadline(`deleting unfinished image ${made.id}`, cleanupMs, (s) =>
      client.deleteImage(made.id, s),
    );
    log.notice(`do: deleted image ${made.id}, which never became available`);
  });
  log.notice(`do: DigitalOcean is making image ${made.id} (${o.name}) in ${m.region}`);
  const progress = statusLines(log, `do: image ${o.name} (${made.id})`);
  const image = await waitImageAvailable(client, made.id, m.pace, progress);
  progress.done('available');
  available = true;
  await m.removeStaged();
  return image;
}

/** The helper droplet's name: mantle's `<name>-install`, in droplet-name characters. */
export function helperDropletName(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9.-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 60);
  return `${safe || 'image'}-install`;
}

/**
 * mantle's workaround: a helper droplet (booting --do-image, size --do-size) whose Ignition config
 * writes the image over its own disk at shutdown and powers off; then a snapshot named --name,
 * tagged as a custom image would be. The helper and its throwaway key go with the helpers.
 */
async function viaSnapshot(
  input: Input,
  client: DoClient,
  helpers: DisposableStack,
  m: MethodInput & { installTimeoutMs: number },
): Promise<Image> {
  const { options: o, platformOptions: p, log, signal } = input;
  const helperImage = await resolveImage(client, p.image, m.region, signal);
  const config = installConfig({
    url: m.url,
    ...(o.busyboxUrl && o.busyboxSha256 ? { busybox: { url: o.busyboxUrl, sha256: o.busyboxSha256 } } : {}),
  });
  const owner = `kola-ore-${randomBytes(4).toString('hex')}`;
  const tag = runTag(owner);

  // DigitalOcean mails a root password for a droplet without a key: a throwaway one nobody holds
  const publicKey = generateEd25519KeyPair(owner).public.trim();
  const fingerprint = sshKeyFingerprint(publicKey);
  const keyName = sshKeyName(owner);
  helpers.defer(async () => {
    await underFreshDeadline(`deleting SSH key ${keyName}`, cleanupMs, (s) =>
      client.deleteSshKey(fingerprint, s),
    );
    log.info(`do: deleted the helper key ${keyName}`);
  });
  const key = await client.createSshKey(keyName, publicKey, fingerprint, signal);

  const name = helperDropletName(o.name);
  const droplet = await createDroplet(
    client,
    {
      name,
      region: m.region,
      size: p.size,
      image: helperImage.ref,
      sshKeys: [key.id],
      userData: JSON.stringify(config),
      tags: [ownerTag, tag],
    },
    tag,
    { signal, waits: defaultWaits, log },
  );
  helpers.defer(async () => {
    await underFreshDeadline(`destroying helper droplet ${droplet.id}`, cleanupMs, (s) =>
      destroyDroplet(client, droplet.id, defaultWaits, s),
    );
    log.info(`do: destroyed the helper droplet ${droplet.id}`);
  });
  log.notice(
    `do: helper droplet ${droplet.id} (${name}) boots image ${helperImage.id ?? helperImage.ref}, writes the image over its disk and powers off`,
  );

  const installing = statusLines(log, `do: helper droplet ${droplet.id}`);
  await pollEvery(
    `for helper droplet ${droplet.id} to write the image and power off (its console shows why not)`,
    { intervalMs: m.pace.intervalMs, timeoutMs: m.installTimeoutMs, signal },
    async () => {
      const d = await client.droplet(droplet.id, signal);
      if (!d)
        throw new PlatformApiError(
          { platform: 'do', operation: 'droplets_get' },
          `helper droplet ${droplet.id} vanished`,
        );
      installing.status(d.status);
      return d.status === 'off' ? d : undefined;
    },
  );
  installing.done('off: the image is on its disk');
  // the guest has read it
  await m.removeStaged();

  const since = Date.now();
  let snapshotStarted = false;
  let snapshotKept = false;
  // runs before the droplet goes (registered after it): a snapshot of a failed run is no product
  helpers.defer(async () => {
    if (!snapshotStarted || snapshotKept) return;
    await underFreshDeadline(`deleting the unfinished snapshot ${o.name}`, cleanupMs, async (s) => {
      for (const snap of await client.dropletSnapshots(droplet.id, s))
        if (snap.name === o.name && Date.parse(snap.created_at ?? '') >= since - 60_000)
          await client.deleteImage(snap.id, s);
    });
  });
  const snapshotting = statusLines(log, `do: snapshot ${o.name} of droplet ${droplet.id}`);
  snapshotting.status('in progress');
  snapshotStarted = true;
  const action = await client.dropletAction(droplet.id, { type: 'snapshot', name: o.name }, signal);
  await waitAction(client, action, `the snapshot of droplet ${droplet.id}`, m.pace);
  const snapshot = await findSnapshot(client, droplet.id, o.name, since, signal);
  snapshotting.done(`image ${snapshot.id}`);
  snapshotKept = true;
  await tagImage(client, snapshot.id, m.tags, signal, log);
  return snapshot;
}

async function findSnapshot(
  client: DoClient,
  dropletId: number,
  name: string,
  since: number,
  signal: AbortSignal,
): Promise<Image> {
  const fresh = (i: Image) => i.name === name && !(Date.parse(i.created_at ?? '') < since - 60_000);
  const found = (await client.dropletSnapshots(dropletId, signal)).filter(fresh);
  const newest = found.sort((a, b) => Date.parse(b.created_at ?? '') - Date.parse(a.created_at ?? ''))[0];
  if (!newest)
    throw new PlatformApiError(
      { platform: 'do', operation: 'droplets_list_snapshots' },
      `the snapshot ${name} of droplet ${dropletId} completed but is not listed`,
    );
  return newest;
}

/** Snapshots take no tags when made: tags are created and assigned afterwards. */
async function tagImage(
  client: DoClient,
  id: number,
  tags: string[],
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  for (const tag of tags) {
    await client.createTag(tag, signal);
    await client.tagResources(tag, [{ id, type: 'image' }], signal);
  }
  log.info(`do: tagged image ${id}`, { tags });
}
