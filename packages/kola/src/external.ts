import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigError, errorMessage, parseDuration, UserData } from '@mantle/cluster';
import { defineTest, type TestDefinition } from '@mantle/harness';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * External tests (`kola run -E DIR`), as coreos-assembler's kola has them: each executable in DIR is
 * a test `ext.<dir>.<file>`, copied to a fresh machine and run there (as root where sudo works).
 * Exit 0 passes, 77 skips, anything else fails. Metadata, all optional, merged in this order: a
 * `kola.json`/`kola.yaml` for the whole directory, a `<file>.kola.json`/`.kola.yaml` beside the file,
 * and a `# kola: {…}` JSON comment in the script's first lines; later ones win, tags add up.
 */
const metadataSchema = z
  .object({
    description: z.string(),
    clusterSize: z.number().int().min(1).max(16),
    /** Userdata file, relative to the test's directory. */
    userData: z.string(),
    /** Go-style duration, e.g. "5m". */
    timeout: z.string(),
    platforms: z.array(z.string()),
    excludePlatforms: z.array(z.string()),
    tags: z.array(z.string()),
  })
  .partial()
  .strict();

type ExternalMetadata = z.output<typeof metadataSchema>;

export const externalSkipExitCode = 77;

function readMetadata(path: string): ExternalMetadata {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: ${errorMessage(e)}`);
  }
  return validate(raw ?? {}, path);
}

function validate(raw: unknown, where: string): ExternalMetadata {
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '');
    throw new ConfigError(`${where}: ${field ? `"${field}": ` : ''}${issue.message}`);
  }
  return parsed.data;
}

function metadataFile(base: string): string | undefined {
  return [`${base}.json`, `${base}.yaml`, `${base}.yml`].find((p) => existsSync(p));
}

function inlineMetadata(script: string, path: string): ExternalMetadata {
  for (const line of script.split('\n').slice(0, 20)) {
    const m = /^#\s*kola:\s*(\{.*\})\s*$/.exec(line);
    if (!m) continue;
    try {
      return validate(JSON.parse(m[1]!), `${path} (# kola: line)`);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`${path}: the "# kola:" line is not JSON: ${errorMessage(e)}`);
    }
  }
  return {};
}

const isMetadata = (name: string) => /(^kola\.(json|ya?ml)$)|(\.kola\.(json|ya?ml)$)/.test(name);

export function loadExternalTests(dirs: string[]): TestDefinition[] {
  const tests: TestDefinition[] = [];
  for (const given of dirs) {
    const dir = resolve(given);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new ConfigError(`-E ${given}: not a directory`);
    const dirMeta = ((p) => (p ? readMetadata(p) : {}))(metadataFile(join(dir, 'kola')));
    const group = basename(dir).replace(/[^A-Za-z0-9_-]/g, '-');
    const files = readdirSync(dir)
      .filter((f) => !isMetadata(f) && !f.startsWith('.'))
      .filter((f) => {
        const st = statSync(join(dir, f));
        return st.isFile() && (st.mode & 0o111) !== 0;
      })
      .sort();
    if (!files.length) throw new ConfigError(`-E ${given}: no executable files`);
    for (const file of files) {
      const path = join(dir, file);
      const script = readFileSync(path);
      const fileMetaPath = metadataFile(join(dir, `${file}.kola`));
      const layers = [
        dirMeta,
        fileMetaPath ? readMetadata(fileMetaPath) : {},
        inlineMetadata(script.toString('utf8'), path),
      ];
      // later layers override fields, except tags, which add up
      const meta: ExternalMetadata = Object.assign({}, ...layers);
      const tags = [...new Set(layers.flatMap((l) => l.tags ?? []))];
      if (tags.length) meta.tags = tags;
      tests.push(
        externalTest(`ext.${group}.${file.replace(/[^A-Za-z0-9_-]/g, '-')}`, dir, path, script, meta),
      );
    }
  }
  return tests;
}

function externalTest(
  name: string,
  dir: string,
  path: string,
  script: Buffer,
  meta: ExternalMetadata,
): TestDefinition {
  let userData: UserData | undefined;
  if (meta.userData) {
    const udPath = resolve(dir, meta.userData);
    let text: string;
    try {
      text = readFileSync(udPath, 'utf8');
    } catch (e) {
      throw new ConfigError(`${path}: userData ${meta.userData}: ${errorMessage(e)}`);
    }
    userData = UserData.detect(text, udPath); // invalid Ignition fails here, before any machine exists
  }
  const platforms: { only?: string[]; exclude?: string[] } = {};
  if (meta.platforms) platforms.only = meta.platforms;
  if (meta.excludePlatforms) platforms.exclude = meta.excludePlatforms;
  return defineTest({
    name,
    description: meta.description ?? `external test ${path}`,
    clusterSize: meta.clusterSize ?? 1,
    tags: ['external', ...(meta.tags ?? [])],
    ...(userData ? { userData } : {}),
    ...(meta.platforms || meta.excludePlatforms ? { platforms } : {}),
    ...(meta.timeout ? { timeoutMs: parseDuration(meta.timeout, `${path}: timeout`) } : {}),
    async run(t) {
      const m = t.machines[0]!;
      const remote = `"$HOME/.kola-ext/${basename(path)}"`;
      await m.ssh(`mkdir -p "$HOME/.kola-ext" && cat > ${remote} && chmod 0755 ${remote}`, {
        stdin: script,
        signal: t.signal,
      });
      const env = `KOLA_TEST=${name} KOLA_PLATFORM=${t.platform}`;
      const r = await m.ssh(
        `if sudo -n true 2>/dev/null; then exec sudo -n env ${env} ${remote}; else exec env ${env} ${remote}; fi`,
        {
          check: false,
          signal: t.signal,
          onStdout: (c) => {
            for (const line of c.toString().split('\n')) if (line) t.log.info(line);
          },
          onStderr: (c) => {
            for (const line of c.toString().split('\n')) if (line) t.log.info(`stderr: ${line}`);
          },
        },
      );
      if (r.exitCode === externalSkipExitCode)
        t.skip(r.stdout.trim().split('\n').pop() || `${basename(path)} exited ${externalSkipExitCode}`);
      if (r.exitCode !== 0)
        t.fail(
          `${basename(path)} exited ${r.exitCode ?? `on signal ${r.signal}`}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
    },
  });
}
