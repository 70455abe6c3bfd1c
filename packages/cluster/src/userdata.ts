import { Buffer } from 'node:buffer';
import {
  type DocumentOptions,
  parseDocument,
  type SchemaOptions,
  stringify as stringifyYaml,
  type Tags,
} from 'yaml';
import { z } from 'zod';
import { UserDataError } from './errors.js';

/**
 * Machine userdata: what a test asks for (Ignition v3, cloud-config or a script), validated up front so a
 * bad config fails before any machine exists, and rendered per machine with kola's SSH keys, platform
 * variables and platform additions (mantle's conf.UserData / RenderUserData / CopyKeys).
 */

export type UserDataKind = 'empty' | 'ignition' | 'cloud-config' | 'script';

// ---------------------------------------------------------------------------------------------------
// JSON paths and zod issues

type PathSegment = string | number;

/** `$.a.b[0].c`; keys that are not identifiers are bracket-quoted so the path stays unambiguous. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `the number ${v}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

interface Problem {
  path: string;
  message: string;
}

function issueProblem(issue: z.core.$ZodIssue, what: string): Problem {
  const path = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path.push(key);
    message = `unknown key ${JSON.stringify(key)} (${what} rejects unknown keys)`;
  } else if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'int' ? 'an integer' : issue.expected;
    // JSON has no undefined, so an undefined input means the key was absent.
    message =
      issue.input === undefined ? 'required' : `expected ${expected}, got ${describeValue(issue.input)}`;
  }
  return { path: jsonPath(path), message };
}

function firstIssue(error: z.ZodError, what: string): UserDataError {
  const [first, ...rest] = error.issues;
  if (!first) return new UserDataError(`invalid ${what}`);
  const p = issueProblem(first, what);
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  return new UserDataError(p.message + more, p.path);
}

// ---------------------------------------------------------------------------------------------------
// Ignition v3 model

export const IGNITION_VERSIONS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0', '3.4.0'] as const;
export type IgnitionVersion = (typeof IGNITION_VERSIONS)[number];
const SUPPORTED_RANGE = `${IGNITION_VERSIONS[0]}–${IGNITION_VERSIONS[IGNITION_VERSIONS.length - 1]}`;

// Ignition's Go structs use pointers and slices, so JSON null is accepted wherever a field is optional.
const optStr = z.string().nullish();
const optBool = z.boolean().nullish();
const optInt = z.int().nullish();
const optStrList = z.array(z.string()).nullish();
const mode = z
  .int()
  .min(0, 'illegal file mode: must be an integer from 0 to 0o7777 (4095)')
  .max(0o7777, 'illegal file mode: must be an integer from 0 to 0o7777 (4095)')
  .nullish();
const nodePath = z
  .string()
  .refine((p) => p.startsWith('/'), 'path not absolute')
  .refine(isCleanPath, 'path is not fully simplified (no ".", "..", "//" or trailing "/")');

const httpHeaderSchema = z.strictObject({ name: z.string(), value: optStr });
const resourceSchema = z.strictObject({
  source: optStr,
  compression: optStr,
  httpHeaders: z.array(httpHeaderSchema).nullish(),
  verification: z.strictObject({ hash: optStr }).nullish(),
});
const nodeOwnerSchema = z.strictObject({ id: optInt, name: optStr });
const nodeFields = {
  path: nodePath,
  overwrite: optBool,
  user: nodeOwnerSchema.nullish(),
  group: nodeOwnerSchema.nullish(),
};

const ignitionConfigSchema = z.strictObject({
  ignition: z.strictObject({
    version: z.string(),
    config: z
      .strictObject({ merge: z.array(resourceSchema).nullish(), replace: resourceSchema.nullish() })
      .nullish(),
    timeouts: z.strictObject({ httpResponseHeaders: optInt, httpTotal: optInt }).nullish(),
    security: z
      .strictObject({
        tls: z.strictObject({ certificateAuthorities: z.array(resourceSchema).nullish() }).nullish(),
      })
      .nullish(),
    proxy: z.strictObject({ httpProxy: optStr, httpsProxy: optStr, noProxy: optStrList }).nullish(),
  }),
  passwd: z
    .strictObject({
      users: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'user name is empty'),
            passwordHash: optStr,
            sshAuthorizedKeys: optStrList,
            uid: optInt,
            gecos: optStr,
            homeDir: optStr,
            noCreateHome: optBool,
            primaryGroup: optStr,
            groups: optStrList,
            noUserGroup: optBool,
            noLogInit: optBool,
            shell: optStr,
            system: optBool,
            shouldExist: optBool,
          }),
        )
        .nullish(),
      groups: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'group name is empty'),
            gid: optInt,
            passwordHash: optStr,
            system: optBool,
            shouldExist: optBool,
          }),
        )
        .nullish(),
    })
    .nullish(),
  storage: z
    .strictObject({
      disks: z
        .array(
          z.strictObject({
            device: z.string().min(1, 'disk device is required'),
            wipeTable: optBool,
            partitions: z
              .array(
                z.strictObject({
                  label: optStr,
                  number: optInt,
                  sizeMiB: optInt,
                  startMiB: optInt,
                  typeGuid: optStr,
                  guid: optStr,
                  wipePartitionEntry: optBool,
                  shouldExist: optBool,
                  resize: optBool,
                }),
              )
              .nullish(),
          }),
        )
        .nullish(),
      raid: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'raid name is required'),
            level: optStr,
            devices: optStrList,
            spares: optInt,
            options: optStrList,
          }),
        )
        .nullish(),
      luks: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'luks name is required'),
            label: optStr,
            uuid: optStr,
            device: optStr,
            keyFile: resourceSchema.nullish(),
            wipeVolume: optBool,
            options: optStrList,
            discard: optBool,
            openOptions: optStrList,
            clevis: z
              .strictObject({
                custom: z.strictObject({ pin: optStr, config: optStr, needsNetwork: optBool }).nullish(),
                tpm2: optBool,
                tang: z
                  .array(z.strictObject({ url: z.string(), thumbprint: optStr, advertisement: optStr }))
                  .nullish(),
                threshold: optInt,
              })
              .nullish(),
          }),
        )
        .nullish(),
      filesystems: z
        .array(
          z.strictObject({
            device: z.string().min(1, 'filesystem device is required'),
            path: nodePath.nullish(),
            format: optStr,
            wipeFilesystem: optBool,
            label: optStr,
            uuid: optStr,
            options: optStrList,
            mountOptions: optStrList,
          }),
        )
        .nullish(),
      files: z
        .array(
          z.strictObject({
            ...nodeFields,
            contents: resourceSchema.nullish(),
            append: z.array(resourceSchema).nullish(),
            mode,
          }),
        )
        .nullish(),
      directories: z.array(z.strictObject({ ...nodeFields, mode })).nullish(),
      links: z.array(z.strictObject({ ...nodeFields, target: optStr, hard: optBool })).nullish(),
    })
    .nullish(),
  systemd: z
    .strictObject({
      units: z
        .array(
          z.strictObject({
            name: z.string(),
            enabled: optBool,
            mask: optBool,
            contents: optStr,
            dropins: z.array(z.strictObject({ name: z.string(), contents: optStr })).nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
  kernelArguments: z.strictObject({ shouldExist: optStrList, shouldNotExist: optStrList }).nullish(),
});

/** A parsed Ignition v3 config (the union of fields of specs 3.0.0–3.4.0; gated by `ignition.version`). */
export type IgnitionConfig = z.infer<typeof ignitionConfigSchema>;
export type IgnitionResource = z.infer<typeof resourceSchema>;
type IgnitionFile = NonNullable<NonNullable<IgnitionConfig['storage']>['files']>[number];
type IgnitionUnit = NonNullable<NonNullable<IgnitionConfig['systemd']>['units']>[number];

const UNIT_SUFFIXES = [
  'service',
  'socket',
  'device',
  'mount',
  'automount',
  'swap',
  'target',
  'path',
  'timer',
  'snapshot',
  'slice',
  'scope',
];

function isCleanPath(p: string): boolean {
  if (p === '/') return true;
  return (
    !p.endsWith('/') &&
    !p
      .split('/')
      .slice(1)
      .some((s) => s === '' || s === '.' || s === '..')
  );
}

function unitNameProblem(name: string): string | undefined {
  if (name === '' || name.includes('/')) return `invalid systemd unit name ${JSON.stringify(name)}`;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `systemd unit ${JSON.stringify(name)} has no unit suffix (e.g. .service)`;
  const ext = name.slice(dot + 1);
  if (!UNIT_SUFFIXES.includes(ext)) {
    return `invalid systemd unit extension ".${ext}" (expected one of ${UNIT_SUFFIXES.map((s) => `.${s}`).join(', ')})`;
  }
  return undefined;
}

function dropinNameProblem(name: string): string | undefined {
  if (name.includes('/') || !name.endsWith('.conf') || name === '.conf') {
    return `invalid systemd drop-in name ${JSON.stringify(name)}: must end in .conf`;
  }
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);
const MEDIA_PARAM = new RegExp(`^${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*")$`);

/** Checks `data:[<mediatype>][;base64],<data>` the way Ignition's dataurl decoder would accept it. */
export function dataUrlProblem(url: string): string | undefined {
  if (!/^data:/i.test(url)) return 'not a data: URL';
  const comma = url.indexOf(',');
  if (comma < 0) return 'data URL has no "," before its data';
  const meta = url.slice(5, comma).split(';');
  const data = url.slice(comma + 1);
  let base64 = false;
  if (meta.length > 1 && meta[meta.length - 1]?.toLowerCase() === 'base64') {
    base64 = true;
    meta.pop();
  }
  const [mediaType = '', ...params] = meta;
  if (mediaType !== '' && !MEDIA_TYPE.test(mediaType)) {
    return `data URL has a malformed media type ${JSON.stringify(mediaType)}`;
  }
  const badParam = params.find((p) => !MEDIA_PARAM.test(p));
  if (badParam !== undefined) return `data URL has a malformed parameter ${JSON.stringify(badParam)}`;
  if (/%(?![0-9A-Fa-f]{2})/.test(data)) return 'data URL has a malformed %-escape';
  if (base64) {
    const raw = data.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
    if (!BASE64.test(raw.replace(/[\r\n]/g, ''))) return 'data URL payload is not valid base64';
  }
  return undefined;
}

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

// ---------------------------------------------------------------------------------------------------
// cloud-config

// Parse as YAML 1.1 because cloud-init (PyYAML) does; keep timestamps as strings so they round-trip.
const YAML_OPTIONS: DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags: Tags) =>
    tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
};

const cloudWriteFileSchema = z.looseObject({
  path: z.string().refine((p) => p.startsWith('/'), 'path not absolute'),
  content: z.string().nullish(),
  encoding: z.string().nullish(),
  permissions: z
    .union([z.string(), z.int()], { error: 'permissions must be an octal string such as "0644"' })
    .nullish(),
  owner: z.string().nullish(),
});

const cloudConfigSchema = z.looseObject({
  ssh_authorized_keys: z.array(z.string()).nullish(),
  hostname: z.string().nullish(),
  write_files: z.array(cloudWriteFileSchema).nullish(),
  runcmd: z
    .array(
      z.union([z.string(), z.array(z.string())], {
        error: 'runcmd entries must be a string or a list of strings',
      }),
    )
    .nullish(),
  users: z.unknown().optional(),
});

/** A parsed cloud-config mapping; keys we do not model are kept untouched (cloud-init ignores them). */
export type CloudConfig = z.infer<typeof cloudConfigSchema>;

const CLOUD_ENCODINGS = ['b64', 'base64', 'text', 'text/plain'];

function validateCloudConfigObject(obj: unknown): CloudConfig {
  const parsed = cloudConfigSchema.safeParse(obj, { reportInput: true });
  if (!parsed.success) throw firstIssue(parsed.error, 'cloud-config');
  parsed.data.write_files?.forEach((f, i) => {
    const at = (k: string) => jsonPath(['write_files', i, k]);
    const enc = f.encoding?.toLowerCase();
    if (enc?.startsWith('gz')) {
      throw new UserDataError(
        `gzip-encoded write_files (${f.encoding}) are not supported; use b64`,
        at('encoding'),
      );
    }
    if (enc && !CLOUD_ENCODINGS.includes(enc)) {
      throw new UserDataError(
        `unknown encoding ${JSON.stringify(f.encoding)} (use one of ${CLOUD_ENCODINGS.join(', ')})`,
        at('encoding'),
      );
    }
    if ((enc === 'b64' || enc === 'base64') && !BASE64.test((f.content ?? '').replace(/\s/g, ''))) {
      throw new UserDataError('content is not valid base64', at('content'));
    }
    const perm = f.permissions;
    const permOk =
      perm === undefined ||
      perm === null ||
      (typeof perm === 'string' ? /^0?[0-7]{3,4}$/.test(perm) : perm >= 0 && perm <= 0o7777);
    if (!permOk) {
      throw new UserDataError(
        `permissions ${JSON.stringify(perm)} is not an octal mode such as "0644"`,
        at('permissions'),
      );
    }
  });
  return parsed.data;
}

function parseCloudConfig(text: string): CloudConfig {
  const doc = parseDocument(text, YAML_OPTIONS);
  const err = doc.errors[0];
  if (err)
    throw new UserDataError(
      `cloud-config is not valid YAML: ${err.message.split('\n')[0]?.replace(/:$/, '')}`,
    );
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UserDataError(`cloud-config must be a YAML mapping, got ${describeValue(value)}`);
  }
  return validateCloudConfigObject(value);
}

function isCloudConfigText(text: string): boolean {
  // coreos-cloudinit's rule: the first line, trimmed, is the header.
  return (text.split('\n', 1)[0] ?? '').trim() === '#cloud-config';
}

// ---------------------------------------------------------------------------------------------------
// UserData

/** What a test asked for, validated. Immutable: `subst` returns a new value. */
export class UserData {
  private constructor(
    readonly kind: UserDataKind,
    /** The source text as given (an object passed to `ignition()` is serialized compactly). */
    readonly text: string,
  ) {
    Object.freeze(this);
  }

  static empty(): UserData {
    return new UserData('empty', '');
  }

  /** Ignition v3 JSON text or object; validated now so a bad config fails before any machine exists. */
  static ignition(textOrObject: string | object, source?: string): UserData {
    const text = typeof textOrObject === 'string' ? textOrObject : JSON.stringify(textOrObject);
    withSource(source, () => validateIgnition(parseJson(text)));
    return new UserData('ignition', text);
  }

  static cloudConfig(text: string, source?: string): UserData {
    withSource(source, () => parseCloudConfig(text));
    return new UserData('cloud-config', text);
  }

  static script(text: string, source?: string): UserData {
    // cloud-init and coreos-cloudinit only run userdata as a script when it has an interpreter line.
    if (!text.startsWith('#!'))
      throw new UserDataError(`${prefix(source)}a userdata script must start with #!`);
    return new UserData('script', text);
  }

  /** Sniffs the kind like mantle's conf.Unknown (minus Container Linux Config, which we do not support). */
  static detect(text: string, source?: string): UserData {
    if (text.trim() === '') return new UserData('empty', text);
    if (isCloudConfigText(text)) return UserData.cloudConfig(text, source);
    if (text.startsWith('#!')) return UserData.script(text, source);
    let value: unknown;
    let jsonError: string | undefined;
    try {
      value = JSON.parse(text);
    } catch (e) {
      jsonError = (e as Error).message;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return UserData.ignition(text, source);
    const hint = jsonError && text.trimStart().startsWith('{') ? ` (JSON: ${jsonError})` : '';
    throw new UserDataError(
      `${prefix(source)}userdata is not Ignition JSON, #cloud-config or a #! script${hint}`,
    );
  }

  contains(substr: string): boolean {
    return this.text.includes(substr);
  }

  /** Replaces every occurrence of `oldText` in the source text (literally: no `$&` patterns). */
  subst(oldText: string, newText: string): UserData {
    if (oldText === '' || !this.text.includes(oldText)) return this;
    const text = this.text.split(oldText).join(newText);
    switch (this.kind) {
      case 'ignition':
        return UserData.ignition(text);
      case 'cloud-config':
        return UserData.cloudConfig(text);
      case 'script':
        return UserData.script(text);
      case 'empty':
        return UserData.detect(text);
    }
  }
}

function prefix(source: string | undefined): string {
  return source ? `${source}: ` : '';
}

function withSource<T>(source: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!source || !(e instanceof UserDataError)) throw e;
    const raw = e.path === '$' ? e.message : e.message.slice(e.path.length + 2);
    throw new UserDataError(`${source}: ${raw}`, e.path, { cause: e });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserDataError(`Ignition config is not valid JSON: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Rendering

export interface RenderOptions {
  /** authorized_keys lines to inject. */
  sshKeys: string[];
  /** Default true; false is mantle's NoSSHKeyInUserData. */
  injectKeys?: boolean;
  /** The user who gets the keys (Ignition); default 'core'. */
  user?: string;
  /** Literal substitutions on the source text before parsing (Ignition and cloud-config), e.g. `$public_ipv4`. */
  vars?: Record<string, string>;
  /** Ignition: /etc/hostname (0644); cloud-config: the `hostname` key. Scripts cannot take it. */
  hostname?: string;
}

export type RenderedKind = Exclude<UserDataKind, 'empty'>;

/** mantle's step 1: no userdata means the minimal Ignition config, which then still gets the keys. */
const MINIMAL_IGNITION_VERSION: IgnitionVersion = '3.3.0';

type Body =
  | { kind: 'ignition'; config: IgnitionConfig }
  | { kind: 'cloud-config'; config: CloudConfig }
  | { kind: 'script'; text: string };

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Userdata for one machine, mutable so a platform can add files, units and keys before serializing.
 * Helpers validate their arguments; `validate()` re-checks the whole config after direct edits.
 */
export class RenderedUserData {
  #body: Body;

  private constructor(body: Body) {
    this.#body = body;
  }

  /** The parsed, editable form of `ud` (empty becomes the minimal Ignition config). */
  static of(ud: UserData): RenderedUserData {
    switch (ud.kind) {
      case 'empty':
        return new RenderedUserData({
          kind: 'ignition',
          config: { ignition: { version: MINIMAL_IGNITION_VERSION } },
        });
      case 'ignition':
        return new RenderedUserData({ kind: 'ignition', config: validateIgnition(JSON.parse(ud.text)) });
      case 'cloud-config':
        return new RenderedUserData({ kind: 'cloud-config', config: parseCloudConfig(ud.text) });
      case 'script':
        return new RenderedUserData({ kind: 'script', text: ud.text });
    }
  }

  get kind(): RenderedKind {
    return this.#body.kind;
  }

  /** The live Ignition config (edits show up in `toString`), or undefined for other kinds. */
  get ignition(): IgnitionConfig | undefined {
    return this.#body.kind === 'ignition' ? this.#body.config : undefined;
  }

  /** The live cloud-config mapping, or undefined for other kinds. */
  get cloudConfig(): CloudConfig | undefined {
    return this.#body.kind === 'cloud-config' ? this.#body.config : undefined;
  }

  /** Writes a file: Ignition storage.files (data URL, overwrite) or cloud-config write_files (b64). */
  addFile(path: string, contents: string | Buffer, mode = 0o644): this {
    if (!path.startsWith('/') || !isCleanPath(path)) {
      throw new UserDataError(`file path ${JSON.stringify(path)} must be absolute and simplified`);
    }
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new UserDataError(`file mode ${mode} for ${path} is outside 0..0o7777`);
    }
    const b64 = Buffer.from(contents).toString('base64');
    const body = this.#body;
    if (body.kind === 'ignition') {
      body.config.storage ??= {};
      body.config.storage.files ??= [];
      const entry: IgnitionFile = {
        path,
        contents: { source: `data:;base64,${b64}` },
        mode,
        overwrite: true,
      };
      replaceOrPush(body.config.storage.files, (f) => f.path === path, entry);
    } else if (body.kind === 'cloud-config') {
      const entry = {
        path,
        content: b64,
        encoding: 'b64',
        permissions: `0${mode.toString(8).padStart(3, '0')}`,
      };
      body.config.write_files ??= [];
      replaceOrPush(body.config.write_files, (f) => f.path === path, entry);
    } else {
      throw new UserDataError(`cannot add ${path}: script userdata cannot carry files`);
    }
    return this;
  }

  /** Adds or replaces a unit (Ignition only); an existing unit keeps its drop-ins. */
  addSystemdUnit(name: string, contents: string, opts: { enabled?: boolean; mask?: boolean } = {}): this {
    const units = this.units(`systemd unit ${name}`);
    const problem = unitNameProblem(name);
    if (problem) throw new UserDataError(problem);
    const unit = units.find((u) => u.name === name) ?? pushed(units, { name });
    unit.contents = contents;
    if (opts.enabled !== undefined) unit.enabled = opts.enabled;
    if (opts.mask !== undefined) unit.mask = opts.mask;
    return this;
  }

  /** Adds or replaces a drop-in for `unit` (Ignition only), creating the unit entry if needed. */
  addSystemdDropin(unit: string, name: string, contents: string): this {
    const units = this.units(`drop-in ${unit}/${name}`);
    const problem = unitNameProblem(unit) ?? dropinNameProblem(name);
    if (problem) throw new UserDataError(problem);
    const entry = units.find((u) => u.name === unit) ?? pushed(units, { name: unit });
    entry.dropins ??= [];
    replaceOrPush(entry.dropins, (d) => d.name === name, { name, contents });
    return this;
  }

  /** mantle's CopyKeys: Ignition user, cloud-config top-level keys, or a script's @SSH_KEYS@. */
  addSshKeys(keys: readonly string[], user = 'core'): this {
    const clean = [...new Set(keys.map((k) => k.trim()).filter((k) => k !== ''))];
    const body = this.#body;
    if (body.kind === 'script') {
      body.text = body.text.split('@SSH_KEYS@').join(clean.join('\n'));
      return this;
    }
    if (clean.length === 0) return this;
    if (body.kind === 'ignition') {
      body.config.passwd ??= {};
      body.config.passwd.users ??= [];
      const users = body.config.passwd.users;
      const u = users.find((x) => x.name === user) ?? pushed(users, { name: user });
      u.sshAuthorizedKeys = mergeKeys(u.sshAuthorizedKeys, clean);
    } else {
      body.config.ssh_authorized_keys = mergeKeys(body.config.ssh_authorized_keys, clean);
    }
    return this;
  }

  setHostname(hostname: string): this {
    if (!HOSTNAME.test(hostname)) throw new UserDataError(`invalid hostname ${JSON.stringify(hostname)}`);
    const body = this.#body;
    if (body.kind === 'ignition') this.addFile('/etc/hostname', `${hostname}\n`, 0o644);
    else if (body.kind === 'cloud-config') body.config.hostname = hostname;
    else throw new UserDataError('cannot set the hostname of a machine booted with script userdata');
    return this;
  }

  /** Re-validates after edits (mantle validates Ignition as the last render step). */
  validate(): void {
    const body = this.#body;
    if (body.kind === 'ignition') validateIgnition(body.config);
    else if (body.kind === 'cloud-config') validateCloudConfigObject(body.config);
  }

  /** Ignition: compact JSON; cloud-config: `#cloud-config` + YAML; script: its text. */
  toString(): string {
    const body = this.#body;
    switch (body.kind) {
      case 'ignition':
        return JSON.stringify(body.config);
      case 'cloud-config':
        // lineWidth 0: never fold long scalars such as SSH keys or base64 content.
        return `#cloud-config\n${stringifyYaml(body.config, { ...YAML_OPTIONS, lineWidth: 0 })}`;
      case 'script':
        return body.text;
    }
  }

  private units(what: string): IgnitionUnit[] {
    const body = this.#body;
    if (body.kind !== 'ignition')
      throw new UserDataError(`cannot add ${what}: ${body.kind} userdata has no systemd units`);
    body.config.systemd ??= {};
    body.config.systemd.units ??= [];
    return body.config.systemd.units;
  }
}

function replaceOrPush<T>(list: T[], match: (t: T) => boolean, entry: T): void {
  const i = list.findIndex(match);
  if (i >= 0) list[i] = entry;
  else list.push(entry);
}

function pushed<T>(list: T[], entry: T): T {
  list.push(entry);
  return entry;
}

function mergeKeys(existing: readonly string[] | null | undefined, add: readonly string[]): string[] {
  const out = [...(existing ?? [])];
  const have = new Set(out.map((k) => k.trim()));
  for (const k of add) if (!have.has(k)) out.push(k);
  return out;
}

/**
 * mantle's RenderUserData for one machine: empty → minimal Ignition, `vars` substituted, hostname set, keys
 * injected (unless `injectKeys` is false), then validated. Platforms may add more before `toString()`.
 */
export function renderUserData(ud: UserData, opts: RenderOptions): RenderedUserData {
  let src = ud;
  if (src.kind === 'ignition' || src.kind === 'cloud-config') {
    for (const [from, to] of Object.entries(opts.vars ?? {})) src = src.subst(from, to);
  }
  const out = RenderedUserData.of(src);
  if (opts.hostname !== undefined) out.setHostname(opts.hostname);
  if (opts.injectKeys !== false) out.addSshKeys(opts.sshKeys, opts.user ?? 'core');
  out.validate();
  return out;
}
