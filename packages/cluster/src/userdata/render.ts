import { Buffer } from 'node:buffer';
import { UserDataError } from '../errors.js';
import {
  type CloudConfig,
  parseCloudConfig,
  validateCloudConfigObject,
  YAML_OPTIONS,
} from './cloud-config.js';
import { validateIgnition } from './ignition-checks.js';
import {
  type IgnitionConfig,
  type IgnitionFile,
  type IgnitionUnit,
  type IgnitionVersion,
  isCleanPath,
} from './ignition-schema.js';
import { dropinNameProblem, unitNameProblem } from './systemd-names.js';
import type { UserData, UserDataKind } from './user-data.js';
import { yamlLib } from './yaml-lib.js';

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
        return `#cloud-config\n${yamlLib().stringify(body.config, { ...YAML_OPTIONS, lineWidth: 0 })}`;
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
