import { generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FakeReply } from '../http/routes.js';

/** The service account the emulator knows: its key file is what `--gce-json-key` gets. */
export interface ServiceAccount {
  email: string;
  keyId: string;
  clientId: string;
  publicKey: KeyObject;
  /** PKCS#8 PEM, as Google's key files have it. */
  privateKeyPem: string;
}

export function createServiceAccount(project: string): ServiceAccount {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    email: `kola@${project}.iam.gserviceaccount.com`,
    keyId: randomBytes(20).toString('hex'),
    clientId: String(100_000_000_000_000_000_000n + BigInt(`0x${randomBytes(8).toString('hex')}`)),
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A service-account key file as the IAM console downloads it, naming the emulator's token endpoint. */
export function serviceAccountKeyFile(account: ServiceAccount, project: string, tokenUri: string) {
  return {
    type: 'service_account',
    project_id: project,
    private_key_id: account.keyId,
    private_key: account.privateKeyPem,
    client_email: account.email,
    client_id: account.clientId,
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(account.email)}`,
    universe_domain: 'googleapis.com',
  };
}

const jwtBearer = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** How long a JWT may live (Google: "a short-lived token (60 minutes)"), and the clock skew allowed. */
const maxLifetimeSeconds = 3600;
const skewSeconds = 300;

interface Claims {
  iss?: unknown;
  sub?: unknown;
  aud?: unknown;
  scope?: unknown;
  iat?: unknown;
  exp?: unknown;
}

type Verified = { ok: true; claims: Claims } | { ok: false; why: string };

/** An RS256 JWT signed by the service account's key, within its lifetime. */
function verifyJwt(account: ServiceAccount, jwt: string, nowSeconds: number): Verified {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { ok: false, why: 'not a JWT' };
  let header: { alg?: unknown; kid?: unknown };
  let claims: Claims;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, why: 'Invalid JWT: the header or claim set is not JSON' };
  }
  if (header.alg !== 'RS256')
    return { ok: false, why: `Invalid JWT: alg ${String(header.alg)} is not RS256` };
  if (header.kid !== undefined && header.kid !== account.keyId)
    return { ok: false, why: 'Invalid JWT Signature.' };
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    account.publicKey,
    Buffer.from(parts[2]!, 'base64url'),
  );
  if (!signed) return { ok: false, why: 'Invalid JWT Signature.' };
  if (claims.iss !== account.email) return { ok: false, why: 'Invalid grant: account not found' };
  const { iat, exp } = claims;
  if (
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    exp <= iat ||
    exp - iat > maxLifetimeSeconds ||
    iat > nowSeconds + skewSeconds ||
    exp < nowSeconds - skewSeconds
  )
    return {
      ok: false,
      why: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
    };
  return { ok: true, claims };
}

/** An OAuth 2.0 error (RFC 6749 §5.2), which is what Google's token endpoint answers, not the API envelope. */
const oauthError = (error: string, description: string): FakeReply => ({
  status: 400,
  body: { error, error_description: description },
});

export interface TokenService {
  /** POST /token: the JWT-bearer grant of a service-account key. */
  exchange(form: URLSearchParams): FakeReply;
  /** A fresh access token (the metadata server's service-account token). */
  issue(scopes: string[]): { access_token: string; expires_in: number; token_type: 'Bearer' };
  /** Google's 401 unless `Authorization: Bearer` carries an access token we issued or a JWT signed by the key. */
  check(headers: IncomingHttpHeaders): FakeReply | undefined;
  readonly issued: number;
}

export function createTokenService(
  account: ServiceAccount,
  /** The `aud` a grant's JWT may name: the key file's token_uri (read late: the port is known after listen). */
  audiences: () => readonly string[],
  now: () => number = Date.now,
): TokenService {
  const tokens = new Map<string, { expiresAt: number; scopes: string[] }>();
  const issue = (scopes: string[]) => {
    const token = `ya29.${randomBytes(48).toString('base64url')}`;
    tokens.set(token, { expiresAt: now() + maxLifetimeSeconds * 1000, scopes });
    return { access_token: token, expires_in: maxLifetimeSeconds - 1, token_type: 'Bearer' as const };
  };
  return {
    get issued() {
      return tokens.size;
    },
    issue,
    exchange(form) {
      const grant = form.get('grant_type');
      if (grant !== jwtBearer)
        return oauthError('unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
      const assertion = form.get('assertion');
      if (!assertion) return oauthError('invalid_request', 'Missing required parameter: assertion');
      const verified = verifyJwt(account, assertion, Math.floor(now() / 1000));
      if (!verified.ok) return oauthError('invalid_grant', verified.why);
      const { aud, scope } = verified.claims;
      if (typeof aud !== 'string' || !audiences().includes(aud))
        return oauthError('invalid_grant', `Invalid JWT: audience ${String(aud)} is not this token endpoint`);
      if (typeof scope !== 'string' || scope.trim() === '')
        return oauthError('invalid_scope', 'Empty or missing scope not allowed.');
      return { status: 200, body: issue(scope.split(/\s+/)), headers: { 'cache-control': 'no-store' } };
    },
    check(headers) {
      const authorization = headers.authorization;
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      if (!bearer) return unauthenticated(authorization === undefined);
      const known = tokens.get(bearer);
      if (known) return known.expiresAt > now() ? undefined : unauthenticated(false);
      // Google also takes a self-signed JWT as the bearer (what google-auth-library sends for a key
      // file when no scopes are set): the key's signature, iss = sub = the account
      const verified = verifyJwt(account, bearer, Math.floor(now() / 1000));
      if (verified.ok && (verified.claims.sub === undefined || verified.claims.sub === account.email))
        return undefined;
      return unauthenticated(false);
    },
  };
}

/** Google's 401: "Login Required" without credentials, "Invalid Credentials" with bad ones. */
function unauthenticated(missing: boolean): FakeReply {
  const message = missing
    ? 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.'
    : 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
  return {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
    body: {
      error: {
        code: 401,
        message,
        errors: [
          {
            message: missing ? 'Login Required.' : 'Invalid Credentials',
            domain: 'global',
            reason: missing ? 'required' : 'authError',
            location: 'Authorization',
            locationType: 'header',
          },
        ],
        status: 'UNAUTHENTICATED',
      },
    },
  };
}
