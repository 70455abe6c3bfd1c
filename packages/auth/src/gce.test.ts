import { generateKeyPairSync, verify } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ConfigError, CredentialsError, UsageError } from '@mantle/cluster';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, thrown } from '../test/support.js';
import { gceScopes, readGceCredentials, redact } from './index.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let home: string;
beforeEach(() => {
  home = makeTempHome('.config');
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

/** A token endpoint on 127.0.0.1 that records each form it is sent. */
interface TokenServer {
  url: string;
  forms: URLSearchParams[];
  answer: { status: number; body: unknown };
}
let tokens: TokenServer;
let server: Server;
beforeAll(async () => {
  tokens = { url: '', forms: [], answer: { status: 200, body: {} } };
  let n = 0;
  server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url?.startsWith('/computeMetadata/')) {
      const ok = req.headers['metadata-flavor'] === 'Google';
      res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { access_token: `meta-${++n}`, expires_in: 3599 } : {}));
      return;
    }
    tokens.forms.push(new URLSearchParams(body));
    const answer =
      tokens.answer.status === 200
        ? { access_token: `ya29.tok-${++n}`, expires_in: 3599, token_type: 'Bearer' }
        : tokens.answer.body;
    res.writeHead(tokens.answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  tokens.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  tokens.forms = [];
  tokens.answer = { status: 200, body: {} };
});

function keyFile(name: string, content: unknown, mode = 0o600): string {
  const path = join(home, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(path, mode);
  return path;
}

function serviceAccountBase() {
  return {
    type: 'service_account',
    project_id: 'proj-1',
    private_key_id: 'kid-1',
    private_key: pem,
    client_email: 'kola@proj-1.iam.gserviceaccount.com',
  };
}

const serviceAccount = (extra: Record<string, unknown> = {}) => ({
  type: 'service_account',
  project_id: 'proj-1',
  private_key_id: 'kid-1',
  private_key: pem,
  client_email: 'kola@proj-1.iam.gserviceaccount.com',
  token_uri: `${tokens.url}/token`,
  ...extra,
});

const noEnv = {};

/** For cases built before the token server listens: never asked for a token. */
const fixedAccount = { ...serviceAccountBase(), token_uri: 'http://127.0.0.1:1/token' };

describe('readGceCredentials: where the credentials come from', () => {
  it('--gce-json-key: a service-account key, exchanged for a token with a signed RS256 JWT', async () => {
    const file = keyFile('key.json', serviceAccount());
    const creds = readGceCredentials({ jsonKey: file, env: noEnv, homeDir: home });
    expect(creds.source).toMatchObject({
      kind: 'service-account',
      from: 'flag',
      clientEmail: 'kola@proj-1.iam.gserviceaccount.com',
      tokenUrl: `${tokens.url}/token`,
    });
    expect(creds.projectId).toBe('proj-1');
    expect(creds.label).toBe(
      'service account kola@proj-1.iam.gserviceaccount.com (--gce-json-key ~/key.json)',
    );
    const token = await creds.accessToken();
    expect(token).toMatch(/^ya29\.tok-\d+$/);
    // cached: no second request
    expect(await creds.accessToken()).toBe(token);
    expect(tokens.forms).toHaveLength(1);
    const form = tokens.forms[0]!;
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const [h, c, s] = form.get('assertion')!.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(c!, 'base64url').toString());
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    expect(claims).toMatchObject({
      iss: 'kola@proj-1.iam.gserviceaccount.com',
      aud: `${tokens.url}/token`,
      scope: gceScopes.join(' '),
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s!, 'base64url'))).toBe(
      true,
    );
    // the token and the private key never reach a log
    expect(redact(`token ${token}`)).not.toContain(token);
    expect(redact(pem)).not.toContain(pem.split('\n')[1]);
  });

  it('--gce-endpoint sends token requests to <endpoint>/token, whatever the key says', async () => {
    const file = keyFile('key.json', serviceAccount({ token_uri: 'https://oauth2.googleapis.com/token' }));
    const creds = readGceCredentials({
      jsonKey: file,
      endpoint: `${tokens.url}/`,
      env: noEnv,
      homeDir: home,
    });
    expect(creds.source).toMatchObject({ tokenUrl: `${tokens.url}/token` });
    await creds.accessToken();
    const claims = JSON.parse(
      Buffer.from(tokens.forms[0]!.get('assertion')!.split('.')[1]!, 'base64url').toString(),
    );
    expect(claims.aud).toBe('https://oauth2.googleapis.com/token');
  });

  it('$GOOGLE_APPLICATION_CREDENTIALS when no flag is given; the flag wins over it', () => {
    const envFile = keyFile('env.json', serviceAccount({ client_email: 'env@p.iam.gserviceaccount.com' }));
    const flagFile = keyFile('flag.json', serviceAccount());
    const env = { GOOGLE_APPLICATION_CREDENTIALS: envFile };
    expect(readGceCredentials({ env, homeDir: home }).source).toMatchObject({
      from: 'env',
      clientEmail: 'env@p.iam.gserviceaccount.com',
    });
    expect(readGceCredentials({ env, homeDir: home }).label).toContain('$GOOGLE_APPLICATION_CREDENTIALS');
    expect(readGceCredentials({ jsonKey: flagFile, env, homeDir: home }).source).toMatchObject({
      from: 'flag',
    });
  });

  it('application default credentials: gcloud’s authorized_user file, refreshed with its refresh token', async () => {
    mkdirSync(join(home, '.config', 'gcloud'));
    keyFile('.config/gcloud/application_default_credentials.json', {
      type: 'authorized_user',
      client_id: 'cid',
      client_secret: 'csecret-123',
      refresh_token: 'rtoken-456',
      token_uri: `${tokens.url}/token`,
      quota_project_id: 'quota-p',
    });
    const creds = readGceCredentials({ env: noEnv, homeDir: home });
    expect(creds.source).toMatchObject({ kind: 'authorized-user', from: 'default' });
    expect(creds.projectId).toBe('quota-p');
    await creds.accessToken();
    expect(Object.fromEntries(tokens.forms[0]!)).toEqual({
      grant_type: 'refresh_token',
      client_id: 'cid',
      client_secret: 'csecret-123',
      refresh_token: 'rtoken-456',
    });
    expect(redact('csecret-123 rtoken-456')).not.toMatch(/csecret-123|rtoken-456/);
  });

  it('$CLOUDSDK_CONFIG moves the application default credentials file', () => {
    mkdirSync(join(home, 'gc'));
    keyFile('gc/application_default_credentials.json', serviceAccount());
    const creds = readGceCredentials({ env: { CLOUDSDK_CONFIG: join(home, 'gc') }, homeDir: home });
    expect(creds.source).toMatchObject({ kind: 'service-account', from: 'default' });
  });

  it('--gce-service-auth: the metadata server, with Metadata-Flavor: Google', async () => {
    const host = tokens.url.replace('http://', '');
    const creds = readGceCredentials({ serviceAuth: true, env: { GCE_METADATA_HOST: host } });
    expect(creds.source).toEqual({
      kind: 'metadata',
      url: `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`,
    });
    expect(await creds.accessToken()).toMatch(/^meta-/);
  });

  it('--gce-service-auth off GCE: one line naming the metadata server', async () => {
    const creds = readGceCredentials({ serviceAuth: true, env: { GCE_METADATA_HOST: '127.0.0.1:1' } });
    const e = await creds.accessToken().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CredentialsError);
    expect((e as Error).message).toMatch(
      /^gce: --gce-service-auth: no metadata server at http:\/\/127\.0\.0\.1:1\//,
    );
  });

  it('nothing at all: never a prompt, one line listing every way', () => {
    const e = thrown(() => readGceCredentials({ env: noEnv, homeDir: home }));
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e.message).toBe(
      'gce: no credentials: pass --gce-json-key FILE (a service-account key), set $GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default login`, or pass --gce-service-auth on a GCE VM',
    );
  });

  it('--gce-json-key with --gce-service-auth is a usage error', () => {
    expect(thrown(() => readGceCredentials({ jsonKey: 'x', serviceAuth: true, env: noEnv }))).toBeInstanceOf(
      UsageError,
    );
  });
});

describe('readGceCredentials: bad files name the file and the field', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"type": service', /^~\/k\.json: not valid JSON: .* at line 1 column \d+$/],
    ['an array', '[]', /^~\/k\.json: expected a JSON object/],
    [
      'no type',
      { client_email: 'x' },
      /^~\/k\.json: field "type": missing \(kola reads service_account and authorized_user files\)$/,
    ],
    ['an unknown type', { type: 'external_account' }, /^~\/k\.json: field "type": "external_account"/],
    [
      'no private key',
      { ...fixedAccount, private_key: undefined },
      /^~\/k\.json: field "private_key": missing \(expected string\)$/,
    ],
    [
      'a bad private key',
      { ...fixedAccount, private_key: 'not a key' },
      /^~\/k\.json: field "private_key": not a PEM private key/,
    ],
    [
      'a number as email',
      { ...fixedAccount, client_email: 7 },
      /^~\/k\.json: field "client_email": expected string, got number$/,
    ],
    [
      'a user file without refresh token',
      { type: 'authorized_user', client_id: 'a', client_secret: 'b' },
      /^~\/k\.json: field "refresh_token": missing/,
    ],
  ];
  for (const [what, content, message] of cases)
    it(what, () => {
      const file = keyFile('k.json', content);
      const e = thrown(() => readGceCredentials({ jsonKey: file, env: noEnv, homeDir: home }));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('PRIVATE KEY');
    });

  it('a missing file names it and where it was named', () => {
    const e = thrown(() =>
      readGceCredentials({ env: { GOOGLE_APPLICATION_CREDENTIALS: join(home, 'gone.json') }, homeDir: home }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe('gce: no key file ~/gone.json ($GOOGLE_APPLICATION_CREDENTIALS)');
  });

  it('a key file others can read: a warning', () => {
    const file = keyFile('k.json', serviceAccount(), 0o644);
    const creds = readGceCredentials({ jsonKey: file, env: noEnv, homeDir: home });
    expect(creds.warnings).toEqual(['~/k.json is readable by others (mode 0644); run chmod 600 ~/k.json']);
  });

  it('a refused token: a CredentialsError with Google’s reason', async () => {
    tokens.answer = {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
    };
    const creds = readGceCredentials({
      jsonKey: keyFile('k.json', serviceAccount()),
      env: noEnv,
      homeDir: home,
    });
    const e = await creds.accessToken().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CredentialsError);
    expect((e as Error).message).toBe(
      `gce: ${tokens.url}/token refused a token for kola@proj-1.iam.gserviceaccount.com: invalid_grant: Invalid JWT Signature.`,
    );
  });
});
