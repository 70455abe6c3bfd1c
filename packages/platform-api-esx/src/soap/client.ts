import type { Readable } from 'node:stream';
import { deadline, releaseDeadline, sleep } from '@mantle/cluster';
import { EsxFaultError, EsxTransportError, taskFaultOf } from './faults.js';
import { SoapTransport, type SoapTransportOptions } from './transport.js';
import {
  child,
  children,
  list,
  MoRef,
  moref,
  morefOf,
  type RawXml,
  rawElement,
  text,
  textOf,
  typed,
  type XmlObject,
  type XmlValue,
} from './xml.js';

/** The managers of RetrieveServiceContent that we use. */
export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  viewManager: MoRef;
  sessionManager: MoRef;
  searchIndex: MoRef;
  fileManager?: MoRef;
  ovfManager?: MoRef;
  apiType: string;
  apiVersion: string;
  fullName: string;
}

/** One object of a property retrieval: its reference and the values by property path. */
export interface ObjectContent {
  obj: MoRef;
  props: Map<string, unknown>;
}

export interface ConnectOptions extends SoapTransportOptions {
  username: string;
  password: string;
  signal: AbortSignal;
}

/** What CreateImportSpec answered: the spec to hand to ImportVApp as is, and the files to upload. */
export interface ImportSpec {
  importSpec: RawXml;
  fileItems: { deviceId: string; path: string; size?: number; create: boolean }[];
  errors: string[];
  warnings: string[];
}

export interface LeaseInfo {
  entity?: MoRef;
  deviceUrls: { importKey: string; key: string; url: string; disk: boolean }[];
}

/**
 * A typed vim25 client for the ~25 methods kola and ore need (no WSDL at run time). `connect` logs
 * in; `[Symbol.asyncDispose]` logs out under its own deadline, so `await using` never leaks a
 * session, also when the caller's signal was aborted.
 */
export class VimClient implements AsyncDisposable {
  private constructor(
    readonly transport: SoapTransport,
    readonly content: ServiceContent,
  ) {}

  static async connect(options: ConnectOptions): Promise<VimClient> {
    const transport = new SoapTransport(options);
    try {
      const content = await retrieveServiceContent(transport, options.signal);
      const client = new VimClient(transport, content);
      await client.login(options.username, options.password, options.signal);
      return client;
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  private call(
    method: string,
    self: MoRef,
    args: Record<string, XmlValue>,
    signal: AbortSignal,
  ): Promise<unknown> {
    return this.transport.call(method, self, args, signal);
  }

  async login(userName: string, password: string, signal: AbortSignal): Promise<void> {
    await this.call('Login', this.content.sessionManager, { userName, password }, signal);
  }

  async logout(signal: AbortSignal): Promise<void> {
    await this.call('Logout', this.content.sessionManager, {}, signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const signal = deadline(undefined, 10_000, 'logging out of vSphere');
    try {
      if (this.transport.sessionCookie) await this.logout(signal);
    } catch {
      // the session expires on the server by itself; a failed logout must not hide the real error
    } finally {
      releaseDeadline(signal);
      this.transport.close();
    }
  }

  // ---- finding things ---------------------------------------------------------------------------

  async findByInventoryPath(inventoryPath: string, signal: AbortSignal): Promise<MoRef | undefined> {
    return moref(await this.call('FindByInventoryPath', this.content.searchIndex, { inventoryPath }, signal));
  }

  async createContainerView(
    container: MoRef,
    types: string[],
    recursive: boolean,
    signal: AbortSignal,
  ): Promise<MoRef> {
    const ref = moref(
      await this.call(
        'CreateContainerView',
        this.content.viewManager,
        { container, type: types, recursive },
        signal,
      ),
    );
    if (!ref) throw new EsxTransportError('CreateContainerView', 'answer without a view');
    return ref;
  }

  async destroyView(view: MoRef, signal: AbortSignal): Promise<void> {
    await this.call('DestroyView', view, {}, signal);
  }

  /** RetrievePropertiesEx, then ContinueRetrievePropertiesEx until the token runs out. */
  async retrieveProperties(
    specSet: XmlObject[],
    signal: AbortSignal,
    maxObjects = 500,
  ): Promise<ObjectContent[]> {
    const out: ObjectContent[] = [];
    let result = await this.call(
      'RetrievePropertiesEx',
      this.content.propertyCollector,
      { specSet, options: { maxObjects } },
      signal,
    );
    for (;;) {
      for (const o of children(result, 'objects')) {
        const obj = morefOf(o, 'obj');
        if (!obj) continue;
        const props = new Map<string, unknown>();
        for (const p of children(o, 'propSet')) props.set(textOf(p, 'name') ?? '', child(p, 'val'));
        out.push({ obj, props });
      }
      const token = textOf(result, 'token');
      if (!token) return out;
      result = await this.call(
        'ContinueRetrievePropertiesEx',
        this.content.propertyCollector,
        { token },
        signal,
      );
    }
  }

  /** Properties of one object; a missing object is `NotFound` (ManagedObjectNotFound). */
  async properties(obj: MoRef, paths: string[], signal: AbortSignal): Promise<Map<string, unknown>> {
    const [found] = await this.retrieveProperties(
      [{ propSet: [{ type: obj.type, pathSet: paths }], objectSet: [{ obj, skip: false }] }],
      signal,
    );
    if (!found)
      throw new EsxFaultError('RetrievePropertiesEx', 'ManagedObjectNotFound', `${obj} does not exist`);
    return found.props;
  }

  /** Every object of `type` below `root` (default: the whole inventory), with the paths asked for. */
  async list(
    type: string,
    paths: string[],
    signal: AbortSignal,
    root = this.content.rootFolder,
  ): Promise<ObjectContent[]> {
    const view = await this.createContainerView(root, [type], true, signal);
    try {
      return await this.retrieveProperties(
        [
          {
            propSet: [{ type, pathSet: paths }],
            objectSet: [
              {
                obj: view,
                skip: true,
                selectSet: [
                  typed('TraversalSpec', { name: 'view', type: 'ContainerView', path: 'view', skip: false }),
                ],
              },
            ],
          },
        ],
        signal,
      );
    } finally {
      await this.destroyView(view, signal).catch(() => undefined);
    }
  }

  // ---- virtual machines --------------------------------------------------------------------------

  async cloneVM(
    vm: MoRef,
    folder: MoRef,
    name: string,
    spec: XmlObject,
    signal: AbortSignal,
  ): Promise<MoRef> {
    return taskRef('CloneVM_Task', await this.call('CloneVM_Task', vm, { folder, name, spec }, signal));
  }

  async reconfigVM(vm: MoRef, spec: XmlObject, signal: AbortSignal): Promise<MoRef> {
    return taskRef('ReconfigVM_Task', await this.call('ReconfigVM_Task', vm, { spec }, signal));
  }

  async powerOnVM(vm: MoRef, signal: AbortSignal): Promise<MoRef> {
    return taskRef('PowerOnVM_Task', await this.call('PowerOnVM_Task', vm, {}, signal));
  }

  async powerOffVM(vm: MoRef, signal: AbortSignal): Promise<MoRef> {
    return taskRef('PowerOffVM_Task', await this.call('PowerOffVM_Task', vm, {}, signal));
  }

  async destroy(obj: MoRef, signal: AbortSignal): Promise<MoRef> {
    return taskRef('Destroy_Task', await this.call('Destroy_Task', obj, {}, signal));
  }

  /** Runs a task method and waits for it; returns the task's result (a MoRef for clones). */
  async runTask(operation: string, start: Promise<MoRef>, signal: AbortSignal): Promise<unknown> {
    return this.waitForTask(await start, operation, signal);
  }

  /** Polls the task's `info` through the property collector until success or error. */
  async waitForTask(task: MoRef, operation: string, signal: AbortSignal): Promise<unknown> {
    let delay = 50;
    for (;;) {
      const props = await this.properties(task, ['info.state', 'info.error', 'info.result'], signal);
      const state = text(props.get('info.state'));
      if (state === 'success') return props.get('info.result');
      if (state === 'error') throw taskFaultOf(operation, props.get('info.error'));
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 1_000);
    }
  }

  /**
   * The VM's first usable IPv4 from `guest.net` (then `guest.ipAddress`), as govmomi's
   * WaitForNetIP: link-local addresses do not count.
   */
  async waitForIp(vm: MoRef, signal: AbortSignal): Promise<string> {
    let delay = 100;
    for (;;) {
      const props = await this.properties(vm, ['guest.net', 'guest.ipAddress'], signal);
      const ips: string[] = [];
      for (const nic of children(props.get('guest.net'), 'GuestNicInfo')) {
        for (const ip of children(nic, 'ipAddress')) ips.push(text(ip) ?? '');
      }
      const single = text(props.get('guest.ipAddress'));
      if (single) ips.push(single);
      const ip = ips.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('169.254.'));
      if (ip) return ip;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 2_000);
    }
  }

  // ---- datastore files ---------------------------------------------------------------------------

  /** `https://host/folder/<path>?dcPath=<dc>&dsName=<ds>`, the datastore's HTTP file access. */
  datastoreFileUrl(datacenter: string, datastore: string, path: string): URL {
    const u = new URL(`/folder/${path.split('/').map(encodeURIComponent).join('/')}`, this.transport.url);
    u.searchParams.set('dcPath', datacenter);
    u.searchParams.set('dsName', datastore);
    return u;
  }

  async getDatastoreFile(
    datacenter: string,
    datastore: string,
    path: string,
    signal: AbortSignal,
  ): Promise<Buffer> {
    const a = await this.transport.http(
      'datastore GET',
      'GET',
      this.datastoreFileUrl(datacenter, datastore, path),
      signal,
    );
    if (a.status === 404) {
      throw new EsxFaultError('datastore GET', 'FileNotFound', `[${datastore}] ${path} does not exist`, 404);
    }
    if (a.status >= 300)
      throw new EsxTransportError('datastore GET', `HTTP ${a.status} for [${datastore}] ${path}`, {
        status: a.status,
      });
    return a.body;
  }

  async putDatastoreFile(
    datacenter: string,
    datastore: string,
    path: string,
    body: Buffer | Readable,
    signal: AbortSignal,
    size?: number,
  ): Promise<void> {
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (size !== undefined) headers['content-length'] = size;
    else if (Buffer.isBuffer(body)) headers['content-length'] = body.length;
    const a = await this.transport.http(
      'datastore PUT',
      'PUT',
      this.datastoreFileUrl(datacenter, datastore, path),
      signal,
      {
        body,
        headers,
      },
    );
    if (a.status >= 300)
      throw new EsxTransportError('datastore PUT', `HTTP ${a.status} for [${datastore}] ${path}`, {
        status: a.status,
      });
  }

  /** FileManager.DeleteDatastoreFile_Task on `[datastore] path` (a file or a folder). */
  async deleteDatastoreFile(
    datacenter: MoRef,
    datastore: string,
    path: string,
    signal: AbortSignal,
  ): Promise<void> {
    const fm = this.content.fileManager;
    if (!fm)
      throw new EsxFaultError('DeleteDatastoreFile_Task', 'NotSupported', 'the server has no FileManager');
    const task = taskRef(
      'DeleteDatastoreFile_Task',
      await this.call('DeleteDatastoreFile_Task', fm, { name: `[${datastore}] ${path}`, datacenter }, signal),
    );
    await this.waitForTask(task, 'DeleteDatastoreFile_Task', signal);
  }

  // ---- OVF import --------------------------------------------------------------------------------

  async createImportSpec(
    ovfDescriptor: string,
    resourcePool: MoRef,
    datastore: MoRef,
    cisp: XmlObject,
    signal: AbortSignal,
  ): Promise<ImportSpec> {
    const ovf = this.content.ovfManager;
    if (!ovf) throw new EsxFaultError('CreateImportSpec', 'NotSupported', 'the server has no OvfManager');
    const { parsed, xml } = await this.transport.callRaw(
      'CreateImportSpec',
      ovf,
      { ovfDescriptor, resourcePool, datastore, cisp },
      signal,
    );
    const importSpec = rawElement(xml, 'importSpec');
    const messages = (name: string) =>
      children(parsed, name).map(
        (e) => textOf(e, 'localizedMessage') ?? textOf(child(e, 'fault'), 'faultMessage') ?? 'error',
      );
    const errors = messages('error');
    if (!importSpec) {
      throw new EsxFaultError(
        'CreateImportSpec',
        'InvalidArgument',
        errors.join('; ') || 'no import spec in the answer',
      );
    }
    return {
      importSpec,
      fileItems: children(parsed, 'fileItem').map((f) => {
        const size = textOf(f, 'size');
        return {
          deviceId: textOf(f, 'deviceId') ?? '',
          path: textOf(f, 'path') ?? '',
          create: textOf(f, 'create') === 'true',
          ...(size ? { size: Number(size) } : {}),
        };
      }),
      errors,
      warnings: messages('warning'),
    };
  }

  async importVApp(
    pool: MoRef,
    spec: RawXml,
    folder: MoRef | undefined,
    signal: AbortSignal,
  ): Promise<MoRef> {
    const ref = moref(await this.call('ImportVApp', pool, { spec, folder }, signal));
    if (!ref) throw new EsxTransportError('ImportVApp', 'answer without a lease');
    return ref;
  }

  /** Waits until the lease is `ready` (its device URLs known) or fails with its error. */
  async waitForLease(lease: MoRef, signal: AbortSignal): Promise<LeaseInfo> {
    let delay = 50;
    for (;;) {
      const props = await this.properties(lease, ['state', 'error', 'info'], signal);
      const state = text(props.get('state'));
      if (state === 'ready') {
        const info = props.get('info');
        const entity = morefOf(info, 'entity');
        return {
          ...(entity ? { entity } : {}),
          deviceUrls: children(info, 'deviceUrl').map((d) => ({
            importKey: textOf(d, 'importKey') ?? '',
            key: textOf(d, 'key') ?? '',
            url: textOf(d, 'url') ?? '',
            disk: textOf(d, 'disk') === 'true',
          })),
        };
      }
      if (state === 'error')
        throw taskFaultOf('HttpNfcLease', {
          fault: props.get('error'),
          ...errorMessageOf(props.get('error')),
        });
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 1_000);
    }
  }

  async leaseProgress(lease: MoRef, percent: number, signal: AbortSignal): Promise<void> {
    await this.call(
      'HttpNfcLeaseProgress',
      lease,
      { percent: Math.max(0, Math.min(100, Math.floor(percent))) },
      signal,
    );
  }

  async leaseComplete(lease: MoRef, signal: AbortSignal): Promise<void> {
    await this.call('HttpNfcLeaseComplete', lease, {}, signal);
  }

  async leaseAbort(lease: MoRef, message: string, signal: AbortSignal): Promise<void> {
    await this.call(
      'HttpNfcLeaseAbort',
      lease,
      { fault: { faultMessage: { key: 'kola', message } } },
      signal,
    );
  }

  /** A lease device URL with its `*` host replaced by the server we talk to (vSphere's convention). */
  leaseUrl(url: string): URL {
    const u = new URL(url.replace('://*', `://${this.transport.url.host}`));
    return u;
  }
}

function errorMessageOf(fault: unknown): { localizedMessage?: string } {
  const m = textOf(fault, 'faultstring') ?? textOf(fault, 'localizedMessage');
  return m ? { localizedMessage: m } : {};
}

function taskRef(operation: string, answer: unknown): MoRef {
  const ref = moref(answer);
  if (!ref) throw new EsxTransportError(operation, 'answer without a task');
  return ref;
}

async function retrieveServiceContent(
  transport: SoapTransport,
  signal: AbortSignal,
): Promise<ServiceContent> {
  const c = await transport.call(
    'RetrieveServiceContent',
    new MoRef('ServiceInstance', 'ServiceInstance'),
    {},
    signal,
  );
  const need = (name: string): MoRef => {
    const ref = morefOf(c, name);
    if (!ref) throw new EsxTransportError('RetrieveServiceContent', `no ${name} in the service content`);
    return ref;
  };
  const about = child(c, 'about');
  const fileManager = morefOf(c, 'fileManager');
  const ovfManager = morefOf(c, 'ovfManager');
  return {
    rootFolder: need('rootFolder'),
    propertyCollector: need('propertyCollector'),
    viewManager: need('viewManager'),
    sessionManager: need('sessionManager'),
    searchIndex: need('searchIndex'),
    ...(fileManager ? { fileManager } : {}),
    ...(ovfManager ? { ovfManager } : {}),
    apiType: textOf(about, 'apiType') ?? '',
    apiVersion: textOf(about, 'apiVersion') ?? '',
    fullName: textOf(about, 'fullName') ?? '',
  };
}

/** `ArrayOfManagedObjectReference` and friends: the references of an array-valued property. */
export function morefList(v: unknown): MoRef[] {
  return children(v, 'ManagedObjectReference')
    .map(moref)
    .filter((r): r is MoRef => r !== undefined);
}

/** An `ArrayOfOptionValue` (extraConfig) as a map. */
export function optionValues(v: unknown): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of list(child(v, 'OptionValue'))) m.set(textOf(o, 'key') ?? '', textOf(o, 'value') ?? '');
  return m;
}
