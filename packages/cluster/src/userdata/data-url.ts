/** data: URLs (RFC 2397) and base64 payloads, checked the way Ignition and cloud-init decode them. */

export const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
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
