import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '@mantle/cluster';

const run = promisify(execFile);

export interface TestCertificate extends AsyncDisposable {
  /** PEM. */
  key: string;
  /** PEM, self-signed, for 127.0.0.1 and localhost. */
  cert: string;
  /** The certificate's file: what NODE_EXTRA_CA_CERTS of a child process gets. */
  certFile: string;
  remove(): Promise<void>;
}

/**
 * A throw-away self-signed certificate for 127.0.0.1, made with openssl (Node has no X.509 writer).
 * Azure's SDKs refuse bearer tokens over plain http, so the emulated Resource Manager needs TLS; the
 * clients trust this certificate through NODE_EXTRA_CA_CERTS (a child process) or an agent's `ca`.
 */
export async function createTestCertificate(signal?: AbortSignal): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'kola-azure-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { signal },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new ConfigError(
      `could not make a test certificate with openssl (is it installed?): ${(error as Error).message}`,
    );
  }
  const remove = () => rm(dir, { recursive: true, force: true });
  return {
    key: await readFile(keyFile, 'utf8'),
    cert: await readFile(certFile, 'utf8'),
    certFile,
    remove,
    [Symbol.asyncDispose]: remove,
  };
}
