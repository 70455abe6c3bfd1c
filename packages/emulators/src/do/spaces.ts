import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type Moto, startMoto } from '@mantle/platform-api-aws/testing';
import { pipeToUpstream } from '../http/proxy.js';

/** DigitalOcean Spaces on 127.0.0.1: moto's S3 behind a front that checks what moto does not. */
export interface DoSpaces {
  /** Path-style S3 endpoint (`forcePathStyle: true`). */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  moto: Moto;
  close(): Promise<void>;
}

const s3Error = (res: ServerResponse, status: number, code: string, message: string) => {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`,
  );
};

/** `20260101T000000Z` → epoch ms. */
function amzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

/**
 * What the front refuses before moto sees the request, as Spaces does: a request signed with other
 * keys (403 InvalidAccessKeyId), an unsigned one (403 AccessDenied: the bucket is private), and a
 * presigned URL past its `X-Amz-Expires` (403 AccessDenied "Request has expired"). moto checks none
 * of these. Signatures themselves are not verified.
 */
function refusal(req: IncomingMessage, accessKeyId: string): [string, string] | undefined {
  const url = new URL(req.url ?? '/', 'http://spaces');
  const presignedCredential = url.searchParams.get('X-Amz-Credential');
  const credential =
    presignedCredential ?? /Credential=([^,\s]+)/.exec(req.headers.authorization ?? '')?.[1] ?? undefined;
  if (!credential) return ['AccessDenied', 'Access Denied'];
  if (credential.split('/')[0] !== accessKeyId)
    return ['InvalidAccessKeyId', 'The access key Id you provided does not exist in our records.'];
  if (presignedCredential) {
    const signedAt = amzDate(url.searchParams.get('X-Amz-Date') ?? '');
    const expires = Number(url.searchParams.get('X-Amz-Expires'));
    if (signedAt === undefined || !Number.isInteger(expires) || expires < 1 || expires > 604800)
      return ['AuthorizationQueryParametersError', 'X-Amz-Date and X-Amz-Expires must be given'];
    if (Date.now() > signedAt + expires * 1000) return ['AccessDenied', 'Request has expired'];
  }
  return undefined;
}

export async function startDoSpaces(options: { region: string; bucket: string }): Promise<DoSpaces> {
  const moto = await startMoto();
  const upstream = new URL(moto.motoEndpoint);
  const accessKeyId = `DO00${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`;
  const secretAccessKey = randomBytes(32).toString('base64').replace(/=+$/, '');

  const server = createServer((req, res) => {
    const refused = refusal(req, accessKeyId);
    if (refused) {
      req.resume();
      return s3Error(res, 403, ...refused);
    }
    pipeToUpstream(upstream, req, res, (e) => s3Error(res, 502, 'BadGateway', String(e)));
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const created = await fetch(`${moto.motoEndpoint}/${options.bucket}`, {
      method: 'PUT',
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0`,
      },
    });
    if (!created.ok)
      throw new Error(
        `could not create the bucket ${options.bucket} in moto: ${created.status} ${await created.text()}`,
      );
  } catch (e) {
    server.close();
    await moto.stop();
    throw e;
  }
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    region: options.region,
    bucket: options.bucket,
    accessKeyId,
    secretAccessKey,
    moto,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await moto.stop();
    },
  };
}
