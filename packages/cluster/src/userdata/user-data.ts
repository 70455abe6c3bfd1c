import { UserDataError } from '../errors.js';
import { isCloudConfigText, parseCloudConfig } from './cloud-config.js';
import { validateIgnition } from './ignition-checks.js';

export type UserDataKind = 'empty' | 'ignition' | 'cloud-config' | 'script';

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
