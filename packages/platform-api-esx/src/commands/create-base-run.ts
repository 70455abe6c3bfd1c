import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ConfigError, errorMessage } from '@mantle/cluster';
import { connectEsx } from '../connect.js';
import { type Placement, resolvePlacement } from '../inventory.js';
import { baseKey, createdAtKey, markerPrefix, optionValue } from '../markers.js';
import type { ImportSpec, VimClient } from '../soap/client.js';
import { EsxTransportError } from '../soap/faults.js';
import type { MoRef } from '../soap/xml.js';
import { readOvaEntries } from './ova.js';
import type { createBaseOptions, EsxVerbInput } from './schemas.js';

type Input = EsxVerbInput<typeof createBaseOptions>;

/** A source of the import: its OVF descriptor and a way to read each file it names. */
interface ImportSource {
  ovf: string;
  open(path: string): { stream: Readable; size?: number } | undefined;
}

/**
 * `ore esx create-base`: CreateImportSpec → ImportVApp → upload each file item to its lease URL
 * (disks POSTed as stream-optimized VMDK, created files PUT), HttpNfcLeaseProgress every few
 * seconds (which also keeps the lease alive), HttpNfcLeaseComplete; any failure aborts the lease.
 * The new VM is marked `kola.base=<name>` so gc never takes it and remove-base knows it.
 */
export async function runCreateBase(input: Input): Promise<number> {
  const { file, name } = input.options;
  const source = await openSource(file);
  await using client = await connectEsx(input.platformOptions, input.log, input.signal);
  const placement = await resolvePlacement(client, input.platformOptions, input.signal);
  const existing = await client.findByInventoryPath(`/${placement.datacenter.name}/vm/${name}`, input.signal);
  if (existing)
    throw new ConfigError(
      `esx: a VM named ${JSON.stringify(name)} exists already (ore esx remove-base --name ${name})`,
    );

  const spec = await client.createImportSpec(
    source.ovf,
    placement.pool.ref,
    placement.datastore.ref,
    cispOf(name, source.ovf, placement),
    input.signal,
  );
  if (spec.errors.length) throw new ConfigError(`esx: the OVF was refused: ${spec.errors.join('; ')}`);
  for (const w of spec.warnings) input.log.warn(`esx: OVF: ${w}`);

  const lease = await client.importVApp(placement.pool.ref, spec.importSpec, placement.folder, input.signal);
  let vm: MoRef | undefined;
  try {
    const info = await client.waitForLease(lease, input.signal);
    vm = info.entity;
    await uploadItems(client, lease, spec, info.deviceUrls, source, input);
    await client.leaseComplete(lease, input.signal);
  } catch (e) {
    await client.leaseAbort(lease, errorMessage(e), input.signal).catch(() => undefined);
    throw e;
  }
  if (!vm) throw new EsxTransportError('ImportVApp', 'the lease named no VM');
  await client.runTask(
    'ReconfigVM_Task',
    client.reconfigVM(
      vm,
      {
        extraConfig: [
          optionValue(markerPrefix + baseKey, name),
          optionValue(markerPrefix + createdAtKey, new Date().toISOString()),
        ],
      },
      input.signal,
    ),
    input.signal,
  );
  input.io.result(
    { name, id: vm.value, datastore: placement.datastore.name },
    `created base VM ${name} (${vm.value})`,
  );
  return 0;
}

async function openSource(file: string): Promise<ImportSource> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    throw new ConfigError(`--file ${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (/\.ova$/i.test(file)) {
    const entries = await readOvaEntries(file);
    const ovfEntry = entries.find((e) => e.name.endsWith('.ovf'));
    if (!ovfEntry) throw new ConfigError(`--file ${file}: no .ovf descriptor in the OVA`);
    const fh = await open(file, 'r');
    const buf = Buffer.alloc(ovfEntry.size);
    try {
      await fh.read(buf, 0, ovfEntry.size, ovfEntry.offset);
    } finally {
      await fh.close();
    }
    const ovf = buf.toString('utf8');
    return {
      ovf,
      open(path) {
        const e = entries.find((x) => x.name === path || x.name.endsWith(`/${path}`));
        if (!e) return undefined;
        const stream =
          e.size === 0
            ? Readable.from([])
            : createReadStream(file, { start: e.offset, end: e.offset + e.size - 1 });
        return { stream, size: e.size };
      },
    };
  }
  const { rawDiskSource } = await import('./raw-disk.js');
  return rawDiskSource(file, size);
}

/** Every network the OVF names goes to the placement's network (mantle mapped its `mantle` one). */
function cispOf(name: string, ovf: string, placement: Placement) {
  const networks = [...ovf.matchAll(/<Network\s+[^>]*?ovf:name="([^"]+)"/g)].map((m) => m[1] as string);
  return {
    locale: '',
    deploymentOption: '',
    entityName: name,
    ...(placement.network && networks.length
      ? { networkMapping: networks.map((n) => ({ name: n, network: placement.network?.ref as MoRef })) }
      : {}),
  };
}

async function uploadItems(
  client: VimClient,
  lease: MoRef,
  spec: ImportSpec,
  urls: { importKey: string; url: string; disk: boolean }[],
  source: ImportSource,
  input: Input,
): Promise<void> {
  const total = spec.fileItems.reduce((n, f) => n + (f.size ?? 0), 0);
  const progress = input.io.progress(`import ${input.options.name}`, { total, unit: 'bytes' });
  let sent = 0;
  // vSphere drops a lease not told of progress for a few minutes: report every 5 s
  const keepAlive = setInterval(() => {
    const pct = total ? (sent / total) * 100 : 0;
    client
      .leaseProgress(lease, pct, input.signal)
      .catch((e: unknown) => input.log.warn(`esx: lease progress: ${errorMessage(e)}`));
  }, 5_000);
  try {
    for (const item of spec.fileItems) {
      const target = urls.find((u) => u.importKey === item.deviceId);
      if (!target)
        throw new EsxTransportError(
          'HttpNfcLease',
          `the lease has no URL for ${item.path} (${item.deviceId})`,
        );
      const file = source.open(item.path);
      if (!file) throw new ConfigError(`--file: the OVF names ${item.path}, which is not in the file`);
      file.stream.on('data', (c: Buffer) => {
        sent += c.length;
        progress.advance(c.length);
      });
      const headers: Record<string, string | number> = item.create
        ? { 'content-type': 'application/octet-stream', overwrite: 't' }
        : { 'content-type': 'application/x-vnd.vmware-streamVmdk' };
      if (file.size !== undefined) headers['content-length'] = file.size;
      const answer = await client.transport.http(
        'lease upload',
        item.create ? 'PUT' : 'POST',
        client.leaseUrl(target.url),
        input.signal,
        {
          body: file.stream,
          headers,
        },
      );
      if (answer.status >= 300) {
        throw new EsxTransportError('lease upload', `HTTP ${answer.status} for ${item.path}`, {
          status: answer.status,
        });
      }
    }
    await client.leaseProgress(lease, 100, input.signal);
    progress.done();
  } finally {
    clearInterval(keepAlive);
  }
}
