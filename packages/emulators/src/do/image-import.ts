import { errorMessage } from '@mantle/cluster';

/** What a custom image import read from its URL. */
export interface ImportedImage {
  bytes: number;
  format: string;
}

/** The formats DigitalOcean imports (raw with an MBR or GPT, qcow2, VHDX, VDI, VMDK), gzip or bzip2 too. */
export function sniffImageFormat(head: Buffer): string | undefined {
  const starts = (magic: string | number[], at = 0) => {
    const bytes = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
    return head.length >= at + bytes.length && head.subarray(at, at + bytes.length).equals(bytes);
  };
  if (starts([0x1f, 0x8b])) return 'gzip';
  if (starts('BZh') && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (starts([0x51, 0x46, 0x49, 0xfb])) return 'qcow2';
  if (starts('vhdxfile')) return 'vhdx';
  if (starts('KDMV') || starts('# Disk DescriptorFile')) return 'vmdk';
  if (starts([0x7f, 0x10, 0xda, 0xbe], 0x40)) return 'vdi';
  if (starts('EFI PART', 512)) return 'raw (GPT)';
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) return 'raw (MBR)';
  return undefined;
}

/**
 * Reads a custom image's URL as DigitalOcean's importer does: a GET that must answer 200 with a disk
 * image in a format it takes. The body is read to its end and counted, not kept. Throws with the
 * message the image's `error_message` gets.
 */
export async function fetchImage(url: string, signal: AbortSignal): Promise<ImportedImage> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Unable to download the image: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new Error(`Unable to download the image: ${parsed.protocol} URLs are not supported`);
  let response: Response;
  try {
    response = await fetch(parsed, { signal, redirect: 'follow' });
  } catch (error) {
    throw new Error(`Unable to download the image from ${parsed.host}: ${errorMessage(error)}`);
  }
  if (response.status !== 200) {
    const body = (await response.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
    throw new Error(
      `Unable to download the image: the URL answered ${response.status} ${response.statusText}${body ? `: ${body}` : ''}`,
    );
  }
  let bytes = 0;
  const head: Buffer[] = [];
  let headBytes = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    if (headBytes < 4096) {
      head.push(Buffer.from(chunk.subarray(0, 4096 - headBytes)));
      headBytes += Math.min(chunk.length, 4096 - headBytes);
    }
  }
  if (bytes === 0) throw new Error('The image is empty');
  const format = sniffImageFormat(Buffer.concat(head));
  if (!format)
    throw new Error(
      'The image is not in a supported format (raw with an MBR or GPT partition table, qcow2, VHDX, VDI or VMDK; gzip or bzip2 compressed or not)',
    );
  return { bytes, format };
}
