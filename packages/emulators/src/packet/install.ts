/**
 * What a Packet device with `operating_system: custom_ipxe` does before it is up, as far as the
 * emulator follows it: iPXE fetches `ipxe_script_url` over plain http (iPXE has no https in
 * Packet's build, the reason mantle stages over http), the script's `kernel` line names the
 * installer config by `coreos.config.url=` (or Flatcar's `ignition.config.url=`), and the installer
 * writes the image with the config's `/userdata` file as the installed system's Ignition config.
 * The emulator fetches the same two URLs and serves that `/userdata` from the device's metadata
 * service, so a wrong script, an unreachable or https URL, or a config without `/userdata` fails
 * the device as the real install would.
 */

export class InstallError extends Error {}

async function fetchHttp(what: string, url: string, signal: AbortSignal): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InstallError(`${what}: ${url} is not a URL`);
  }
  if (parsed.protocol !== 'http:') throw new InstallError(`${what}: iPXE fetches only http://, not ${url}`);
  let answer: Response;
  try {
    answer = await fetch(parsed, { signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) });
  } catch (e) {
    throw new InstallError(`${what}: GET ${url}: ${(e as Error).message}`);
  }
  const text = await answer.text();
  if (!answer.ok) throw new InstallError(`${what}: GET ${url}: ${answer.status}`);
  return text;
}

/** The `kernel` line's `key=value` arguments of an iPXE script, with `${var}` set by `set var value`. */
export function parseIpxeScript(script: string): { kernelArgs: Map<string, string>; initrds: string[] } {
  const lines = script.split('\n').map((l) => l.trim());
  if (lines[0] !== '#!ipxe') throw new InstallError('the iPXE script does not start with #!ipxe');
  const vars = new Map<string, string>();
  const expand = (s: string) => s.replace(/\$\{([\w-]+)\}/g, (_, name: string) => vars.get(name) ?? '');
  const kernelArgs = new Map<string, string>();
  const initrds: string[] = [];
  let kernel = false;
  for (const line of lines.slice(1)) {
    const [verb, ...rest] = line.split(/\s+/);
    if (verb === 'set' && rest[0]) vars.set(rest[0], expand(rest.slice(1).join(' ')));
    else if (verb === 'kernel') {
      kernel = true;
      for (const word of rest.slice(1).map(expand)) {
        const eq = word.indexOf('=');
        if (eq > 0) kernelArgs.set(word.slice(0, eq), word.slice(eq + 1));
      }
    } else if (verb === 'initrd' && rest[0]) initrds.push(expand(rest[0]));
  }
  if (!kernel) throw new InstallError('the iPXE script has no kernel line');
  return { kernelArgs, initrds };
}

/** A `data:` URL's bytes (`data:,<percent-encoded>` or `data:…;base64,<b64>`). */
export function decodeDataUrl(url: string): string {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0)
    throw new InstallError('the /userdata source is not a data: URL');
  const head = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return head.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
}

/** The installed system's config: the `/userdata` file of the installer's Ignition config. */
export function installedUserData(installerConfig: string): string {
  let config: { storage?: { files?: Array<{ path?: string; contents?: { source?: string } }> } };
  try {
    config = JSON.parse(installerConfig);
  } catch {
    throw new InstallError('the installer config is not JSON');
  }
  const file = config.storage?.files?.find((f) => f.path === '/userdata');
  if (!file?.contents?.source) throw new InstallError('the installer config writes no /userdata');
  return decodeDataUrl(file.contents.source);
}

/** Follows the device's iPXE path; the userdata the installed system boots with. */
export async function followIpxeInstall(
  ipxeScriptUrl: string,
  signal: AbortSignal,
): Promise<{ userData: string; configUrl: string }> {
  const script = await fetchHttp('iPXE script', ipxeScriptUrl, signal);
  const { kernelArgs } = parseIpxeScript(script);
  const configUrl = kernelArgs.get('coreos.config.url') ?? kernelArgs.get('ignition.config.url');
  if (!configUrl) throw new InstallError('the kernel line names no coreos.config.url');
  const config = await fetchHttp('installer config', configUrl, signal);
  return { userData: installedUserData(config), configUrl };
}
