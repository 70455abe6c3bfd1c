import { ConfigError } from '@mantle/cluster';
import type { ObjectContent, VimClient } from './soap/client.js';
import { children, type MoRef, moref, text, typed, type XmlObject } from './soap/xml.js';

/** Where clones and imports go, every part resolved to a reference. */
export interface Placement {
  datacenter: { ref: MoRef; name: string; vmFolder: MoRef };
  datastore: { ref: MoRef; name: string };
  pool: { ref: MoRef; path: string };
  folder: MoRef;
  network?: { ref: MoRef; name: string };
}

export interface PlacementWants {
  datacenter?: string | undefined;
  datastore?: string | undefined;
  resourcePool?: string | undefined;
  network?: string | undefined;
  folder?: string | undefined;
}

/**
 * The one named, or the only one there is. mantle's govmomi `Default*` broke on inventories with
 * more than one; here two or more without a name is a config error naming them all.
 */
export function pickOne<T>(
  what: string,
  flag: string,
  items: T[],
  nameOf: (t: T) => string,
  wanted?: string,
): T {
  if (wanted !== undefined) {
    const hit = items.filter((i) => nameOf(i) === wanted);
    if (hit.length === 1) return hit[0] as T;
    const names = items.map(nameOf).sort();
    if (hit.length === 0) {
      throw new ConfigError(
        `esx: no ${what} ${JSON.stringify(wanted)} (there are: ${names.join(', ') || 'none'})`,
      );
    }
    throw new ConfigError(
      `esx: ${hit.length} ${what}s are named ${JSON.stringify(wanted)}: give ${flag} an inventory path`,
    );
  }
  if (items.length === 1) return items[0] as T;
  if (items.length === 0) throw new ConfigError(`esx: there is no ${what}`);
  const names = items.map(nameOf).sort();
  throw new ConfigError(`esx: ${items.length} ${what}s, choose one with ${flag}: ${names.join(', ')}`);
}

const name = (o: ObjectContent) => text(o.props.get('name')) ?? o.obj.value;

/** The datacenter named, or the only one. */
export async function findDatacenter(
  client: VimClient,
  wanted: string | undefined,
  signal: AbortSignal,
): Promise<Placement['datacenter']> {
  const dcs = await client.list('Datacenter', ['name', 'vmFolder'], signal);
  const dc = pickOne('datacenter', '--esx-datacenter', dcs, name, wanted);
  return { ref: dc.obj, name: name(dc), vmFolder: moref(dc.props.get('vmFolder')) as MoRef };
}

export async function resolvePlacement(
  client: VimClient,
  wants: PlacementWants,
  signal: AbortSignal,
): Promise<Placement> {
  const datacenter = await findDatacenter(client, wants.datacenter, signal);
  const dcObj = { obj: datacenter.ref };
  const dcName = datacenter.name;
  const vmFolder = datacenter.vmFolder;

  const stores = await client.list('Datastore', ['name'], signal, dcObj.obj);
  const ds = pickOne('datastore', '--esx-datastore', stores, name, wants.datastore);

  const pools = await poolPaths(client, dcObj.obj, signal);
  let pool: { ref: MoRef; path: string };
  if (wants.resourcePool?.startsWith('/')) {
    const ref = await client.findByInventoryPath(wants.resourcePool, signal);
    if (ref?.type !== 'ResourcePool') {
      throw new ConfigError(
        `esx: no resource pool at ${wants.resourcePool} (there are: ${pools.map((p) => p.path).join(', ')})`,
      );
    }
    pool = { ref, path: wants.resourcePool };
  } else {
    pool = pickOne('resource pool', '--esx-resource-pool', pools, (p) => p.path, wants.resourcePool);
  }

  let folder = vmFolder;
  if (wants.folder) {
    const path = `/${dcName}/vm/${wants.folder.replace(/^\/+/, '')}`;
    const ref = await client.findByInventoryPath(path, signal);
    if (ref?.type !== 'Folder') throw new ConfigError(`esx: no VM folder ${path} (--esx-folder)`);
    folder = ref;
  }

  const nets = await client.list('Network', ['name'], signal, dcObj.obj);
  // DVS uplink port groups carry no VM traffic; they are never a default
  const usable = nets.filter((n) => !/-DVUplinks-/.test(name(n)));
  const network =
    wants.network !== undefined || usable.length > 0
      ? pickOne('network', '--esx-network', usable, name, wants.network)
      : undefined;

  return {
    datacenter,
    datastore: { ref: ds.obj, name: name(ds) },
    pool,
    folder,
    ...(network ? { network: { ref: network.obj, name: name(network) } } : {}),
  };
}

/** Resource pools as `<compute resource>/Resources[/<child>…]`, what --esx-resource-pool takes. */
async function poolPaths(
  client: VimClient,
  dc: MoRef,
  signal: AbortSignal,
): Promise<{ ref: MoRef; path: string }[]> {
  const pools = await client.list('ResourcePool', ['name', 'parent'], signal, dc);
  const owners = await client.list('ComputeResource', ['name'], signal, dc);
  const byId = new Map<string, { name: string; parent?: MoRef }>();
  for (const p of pools) {
    const parent = moref(p.props.get('parent'));
    byId.set(p.obj.toString(), { name: name(p), ...(parent ? { parent } : {}) });
  }
  for (const o of owners) byId.set(o.obj.toString(), { name: name(o) });
  return pools.map((p) => {
    const parts: string[] = [];
    let cur: MoRef | undefined = p.obj;
    for (let i = 0; cur && i < 32; i++) {
      const node = byId.get(cur.toString());
      if (!node) break;
      parts.unshift(node.name);
      cur = node.parent;
    }
    return { ref: p.obj, path: parts.join('/') };
  });
}

/** The base VM by inventory path or by name (exactly one VM of that name). */
export async function findVm(
  client: VimClient,
  placement: Placement,
  nameOrPath: string,
  signal: AbortSignal,
): Promise<MoRef> {
  const path = nameOrPath.startsWith('/') ? nameOrPath : `/${placement.datacenter.name}/vm/${nameOrPath}`;
  const direct = await client.findByInventoryPath(path, signal);
  if (direct?.type === 'VirtualMachine') return direct;
  if (nameOrPath.includes('/')) throw new ConfigError(`esx: no VM at ${path}`);
  const vms = await client.list('VirtualMachine', ['name'], signal, placement.datacenter.ref);
  const hits = vms.filter((v) => name(v) === nameOrPath);
  if (hits.length === 1) return (hits[0] as ObjectContent).obj;
  if (hits.length === 0)
    throw new ConfigError(`esx: no VM named ${JSON.stringify(nameOrPath)} in ${placement.datacenter.name}`);
  throw new ConfigError(
    `esx: ${hits.length} VMs are named ${JSON.stringify(nameOrPath)}: give an inventory path`,
  );
}

/** The backing of a NIC on `network`: a port group of a distributed switch, or a standard network. */
export async function nicBacking(
  client: VimClient,
  network: { ref: MoRef; name: string },
  signal: AbortSignal,
): Promise<XmlObject> {
  if (network.ref.type === 'DistributedVirtualPortgroup') {
    const p = await client.properties(network.ref, ['key', 'config.distributedVirtualSwitch'], signal);
    const dvs = moref(p.get('config.distributedVirtualSwitch'));
    const uuid = dvs ? text((await client.properties(dvs, ['uuid'], signal)).get('uuid')) : undefined;
    return typed('VirtualEthernetCardDistributedVirtualPortBackingInfo', {
      port: { switchUuid: uuid ?? '', portgroupKey: text(p.get('key')) ?? '' },
    });
  }
  return typed('VirtualEthernetCardNetworkBackingInfo', { deviceName: network.name, network: network.ref });
}

/** The first ethernet card of `config.hardware.device`: its xsi:type and key. */
export function firstEthernetCard(devices: unknown): { type: string; key: string } | undefined {
  for (const d of children(devices, 'VirtualDevice')) {
    const node = d as Record<string, unknown>;
    const type = String(node['@_xsi:type'] ?? '');
    if (/^Virtual(E1000e?|Vmxnet\d?|PCNet32|Sriov.*)$/.test(type) || 'macAddress' in node) {
      return { type, key: text(node.key) ?? '' };
    }
  }
  return undefined;
}
