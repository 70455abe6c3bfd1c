import { UserDataError } from '../errors.js';
import { dataUrlProblem } from './data-url.js';
import {
  IGNITION_VERSIONS,
  type IgnitionConfig,
  type IgnitionResource,
  type IgnitionVersion,
  ignitionConfigSchema,
  SUPPORTED_RANGE,
} from './ignition-schema.js';
import { describeValue, firstIssue, jsonPath, type PathSegment } from './json-path.js';
import { dropinNameProblem, unitNameProblem } from './systemd-names.js';

function versionMinor(v: IgnitionVersion): number {
  return Number(v.split('.')[1]);
}

function checkVersion(obj: Record<string, unknown>): IgnitionVersion {
  if ('ignitionVersion' in obj) {
    throw new UserDataError(
      `Ignition spec ${String(obj.ignitionVersion)} is not supported; use ${SUPPORTED_RANGE}`,
      '$.ignitionVersion',
    );
  }
  const ign = obj.ignition;
  if (ign === undefined)
    throw new UserDataError('required (an Ignition config needs ignition.version)', '$.ignition');
  if (typeof ign !== 'object' || ign === null || Array.isArray(ign)) {
    throw new UserDataError(`expected object, got ${describeValue(ign)}`, '$.ignition');
  }
  const version: unknown = (ign as Record<string, unknown>).version;
  if (version === undefined) throw new UserDataError('required', '$.ignition.version');
  if (typeof version !== 'string') {
    throw new UserDataError(`expected string, got ${describeValue(version)}`, '$.ignition.version');
  }
  if (!(IGNITION_VERSIONS as readonly string[]).includes(version)) {
    const what = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)
      ? `Ignition spec ${version} is not supported`
      : `invalid Ignition spec version ${JSON.stringify(version)}`;
    throw new UserDataError(`${what}; use ${SUPPORTED_RANGE}`, '$.ignition.version');
  }
  return version as IgnitionVersion;
}

/** Everything Ignition's own validation rejects that a schema cannot say: cross-field rules and gates. */
class SemanticChecker {
  readonly minor: number;
  constructor(
    readonly cfg: IgnitionConfig,
    readonly version: IgnitionVersion,
  ) {
    this.minor = versionMinor(version);
  }

  private fail(path: PathSegment[], message: string): never {
    throw new UserDataError(message, jsonPath(path));
  }

  private gate(value: unknown, path: PathSegment[], minor: number, what?: string): void {
    if (value === undefined || this.minor >= minor) return;
    const name = what ?? String(path[path.length - 1]);
    this.fail(
      path,
      `${name} requires Ignition spec 3.${minor}.0 or newer; this config declares ${this.version}`,
    );
  }

  private unique<T>(
    items: readonly T[] | null | undefined,
    key: (t: T) => string,
    base: PathSegment[],
    what: string,
  ) {
    const seen = new Map<string, number>();
    (items ?? []).forEach((item, i) => {
      const k = key(item);
      const prev = seen.get(k);
      if (prev !== undefined)
        this.fail([...base, i], `duplicate ${what} ${JSON.stringify(k)} (also at index ${prev})`);
      seen.set(k, i);
    });
  }

  private resource(r: IgnitionResource | null | undefined, path: PathSegment[], compressible = true): void {
    if (!r) return;
    this.gate(r.httpHeaders ?? undefined, [...path, 'httpHeaders'], 1);
    if (!compressible) this.gate(r.compression ?? undefined, [...path, 'compression'], 1);
    const src = r.source;
    if (src !== undefined && src !== null) {
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(src)?.[1]?.toLowerCase();
      const at = [...path, 'source'];
      if (scheme === undefined) this.fail(at, `invalid url scheme in ${JSON.stringify(src)}`);
      if (scheme === 'data') {
        const problem = dataUrlProblem(src);
        if (problem) this.fail(at, problem);
      } else if (['http', 'https', 'tftp', 's3', 'gs', 'arn'].includes(scheme)) {
        if (scheme === 'gs') this.gate(src, at, 2, 'gs:// sources');
        if (scheme === 'arn') this.gate(src, at, 4, 'arn: sources');
        if (scheme !== 'arn' && !URL.canParse(src))
          this.fail(at, `unable to parse url ${JSON.stringify(src)}`);
      } else {
        this.fail(at, `invalid url scheme "${scheme}"`);
      }
      if (r.httpHeaders?.length && scheme !== 'http' && scheme !== 'https') {
        this.fail([...path, 'httpHeaders'], 'cannot use HTTP headers with this source scheme');
      }
    }
    r.httpHeaders?.forEach((h, i) => {
      if (h.name === '') this.fail([...path, 'httpHeaders', i, 'name'], "HTTP header name can't be empty");
    });
    this.unique(r.httpHeaders, (h) => h.name.toLowerCase(), [...path, 'httpHeaders'], 'HTTP header');
    if (r.compression && r.compression !== 'gzip') {
      this.fail([...path, 'compression'], `invalid compression method ${JSON.stringify(r.compression)}`);
    }
    const hash = r.verification?.hash;
    if (hash !== undefined && hash !== null) {
      const at = [...path, 'verification', 'hash'];
      if (src === undefined || src === null)
        this.fail(at, 'source must be specified if verification is specified');
      const m = /^([^-]+)-(.*)$/.exec(hash);
      if (!m) this.fail(at, 'malformed hash specifier (expected sha512-<hex>)');
      const [, fn, sum = ''] = m;
      const sizes: Record<string, number> = { sha512: 128, sha256: 64 };
      const size = fn === undefined ? undefined : sizes[fn];
      if (size === undefined) this.fail(at, `unrecognized hash function ${JSON.stringify(fn)}`);
      if (fn === 'sha256') this.gate(hash, at, 1, 'sha256 verification');
      if (!/^[0-9a-fA-F]*$/.test(sum)) this.fail(at, `${fn} hash sum is not hexadecimal`);
      if (sum.length !== size) this.fail(at, `incorrect size for ${fn} hash sum`);
    }
  }

  private owner(o: { id?: number | null; name?: string | null } | null | undefined, path: PathSegment[]) {
    if (o && o.id !== undefined && o.id !== null && o.name) this.fail(path, 'cannot set both id and name');
  }

  run(): void {
    const { cfg } = this;
    const ign = cfg.ignition;
    this.gate(ign.proxy ?? undefined, ['ignition', 'proxy'], 1);
    for (const key of ['httpProxy', 'httpsProxy'] as const) {
      const p = ign.proxy?.[key];
      if (p && !/^https?:\/\//i.test(p)) this.fail(['ignition', 'proxy', key], 'proxies must be http(s)');
    }
    ign.config?.merge?.forEach((r, i) => {
      this.resource(r, ['ignition', 'config', 'merge', i], false);
    });
    this.resource(ign.config?.replace, ['ignition', 'config', 'replace'], false);
    ign.security?.tls?.certificateAuthorities?.forEach((r, i) => {
      this.resource(r, ['ignition', 'security', 'tls', 'certificateAuthorities', i], false);
    });

    const passwd = cfg.passwd;
    passwd?.users?.forEach((u, i) => {
      this.gate(u.shouldExist ?? undefined, ['passwd', 'users', i, 'shouldExist'], 2);
    });
    passwd?.groups?.forEach((g, i) => {
      this.gate(g.shouldExist ?? undefined, ['passwd', 'groups', i, 'shouldExist'], 2);
    });
    this.unique(passwd?.users, (u) => u.name, ['passwd', 'users'], 'user');
    this.unique(passwd?.groups, (g) => g.name, ['passwd', 'groups'], 'group');

    const st = cfg.storage;
    if (st) this.storage(st);

    cfg.systemd?.units?.forEach((u, i) => {
      const problem = unitNameProblem(u.name);
      if (problem) this.fail(['systemd', 'units', i, 'name'], problem);
      u.dropins?.forEach((d, j) => {
        const dp = dropinNameProblem(d.name);
        if (dp) this.fail(['systemd', 'units', i, 'dropins', j, 'name'], dp);
      });
      this.unique(u.dropins, (d) => d.name, ['systemd', 'units', i, 'dropins'], 'drop-in');
    });
    this.unique(cfg.systemd?.units, (u) => u.name, ['systemd', 'units'], 'systemd unit');

    const kargs = cfg.kernelArguments;
    this.gate(kargs ?? undefined, ['kernelArguments'], 3);
    if (kargs) {
      // Ignition keys both lists on the argument, so one argument in both is a duplicate.
      const all = [...(kargs.shouldExist ?? []), ...(kargs.shouldNotExist ?? [])];
      const exist = kargs.shouldExist?.length ?? 0;
      this.unique(all, (a) => a, ['kernelArguments'], 'kernel argument');
      all.forEach((a, i) => {
        if (a === '') {
          const at = i < exist ? ['shouldExist', i] : ['shouldNotExist', i - exist];
          this.fail(['kernelArguments', ...at], 'kernel argument is empty');
        }
      });
    }
  }

  private storage(st: NonNullable<IgnitionConfig['storage']>): void {
    this.gate(st.luks ?? undefined, ['storage', 'luks'], 2);
    st.luks?.forEach((l, i) => {
      const at = ['storage', 'luks', i];
      this.gate(l.discard ?? undefined, [...at, 'discard'], 4);
      this.gate(l.openOptions ?? undefined, [...at, 'openOptions'], 4);
      l.clevis?.tang?.forEach((t, j) => {
        this.gate(t.advertisement ?? undefined, [...at, 'clevis', 'tang', j, 'advertisement'], 4);
      });
      this.resource(l.keyFile, [...at, 'keyFile']);
    });
    st.disks?.forEach((d, i) => {
      d.partitions?.forEach((p, j) => {
        this.gate(p.resize ?? undefined, ['storage', 'disks', i, 'partitions', j, 'resize'], 2);
      });
    });
    st.filesystems?.forEach((f, i) => {
      const at = ['storage', 'filesystems', i];
      this.gate(f.mountOptions ?? undefined, [...at, 'mountOptions'], 1);
      const formats = ['ext4', 'btrfs', 'xfs', 'vfat', 'swap', 'none'];
      if (f.format && !formats.includes(f.format)) {
        this.fail([...at, 'format'], `invalid filesystem format ${JSON.stringify(f.format)}`);
      }
      if (f.format === 'none') this.gate(f.format, [...at, 'format'], 3, 'format "none"');
    });
    this.unique(st.disks, (d) => d.device, ['storage', 'disks'], 'disk');
    this.unique(st.raid, (r) => r.name, ['storage', 'raid'], 'raid');
    this.unique(st.luks, (l) => l.name, ['storage', 'luks'], 'luks device');
    this.unique(st.filesystems, (f) => f.device, ['storage', 'filesystems'], 'filesystem device');

    st.files?.forEach((f, i) => {
      const at = ['storage', 'files', i];
      this.resource(f.contents, [...at, 'contents']);
      f.append?.forEach((r, j) => {
        this.resource(r, [...at, 'append', j]);
      });
      if (f.overwrite && (f.contents?.source === undefined || f.contents.source === null)) {
        this.fail([...at, 'overwrite'], 'overwrite must be false if contents.source is unspecified');
      }
    });
    // Files, directories and links share one namespace: a path may appear once across all three.
    const seen = new Map<string, string>();
    for (const list of ['files', 'directories', 'links'] as const) {
      st[list]?.forEach((n, i) => {
        this.owner(n.user, ['storage', list, i, 'user']);
        this.owner(n.group, ['storage', list, i, 'group']);
        const prev = seen.get(n.path);
        if (prev !== undefined)
          this.fail(['storage', list, i, 'path'], `duplicate path ${n.path} (also at ${prev})`);
        seen.set(n.path, jsonPath(['storage', list, i]));
      });
    }
  }
}

/**
 * Validates a parsed JSON value as an Ignition v3 config and returns it typed. Throws UserDataError with the
 * JSON path of the first problem: unsupported version, unknown key, wrong type, or a rule Ignition enforces.
 */
export function validateIgnition(obj: unknown): IgnitionConfig {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new UserDataError(`an Ignition config must be a JSON object, got ${describeValue(obj)}`);
  }
  // Version first: a 2.x config would otherwise drown in unknown-key errors.
  const version = checkVersion(obj as Record<string, unknown>);
  const parsed = ignitionConfigSchema.safeParse(obj, { reportInput: true });
  if (!parsed.success) throw firstIssue(parsed.error, 'Ignition');
  new SemanticChecker(parsed.data, version).run();
  return parsed.data;
}
