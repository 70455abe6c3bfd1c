import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError, redact } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, thrown } from '../test/support.js';
import { resolveAzureCredentials } from './index.js';

let home: string;
const authFile = () => join(home, '.azure', 'credentials.json');
const profileFile = () => join(home, '.azure', 'azureProfile.json');
const sub1 = '11111111-1111-1111-1111-111111111111';
const sub2 = '22222222-2222-2222-2222-222222222222';
const goodAuth = {
  clientId: 'client',
  clientSecret: 'azure-secret-value-xyz',
  subscriptionId: sub1,
  tenantId: 'tenant',
  activeDirectoryEndpointUrl: 'https://login.microsoftonline.com',
  resourceManagerEndpointUrl: 'https://management.azure.com/',
  activeDirectoryGraphResourceId: 'https://graph.windows.net/',
};
const profile = {
  environments: [],
  subscriptions: [
    { id: sub1, name: 'first', isDefault: false, tenantId: 't1' },
    { id: sub2, name: 'Kola Testing', isDefault: true, tenantId: 't2' },
  ],
};

beforeEach(() => {
  home = makeTempHome('.azure');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

function write(path: string, data: unknown, { bom = false, mode = 0o600 } = {}): void {
  writeFileSync(path, (bom ? '\uFEFF' : '') + (typeof data === 'string' ? data : JSON.stringify(data)));
  chmodSync(path, mode);
}
const resolve = (o: Parameters<typeof resolveAzureCredentials>[0] = {}) =>
  resolveAzureCredentials({ homeDir: home, env: {}, ...o });

describe('resolveAzureCredentials', () => {
  it('reads mantle’s auth file (BOM and all) and registers the secret', () => {
    write(authFile(), goodAuth, { bom: true });
    const got = resolve();
    expect(got.auth?.clientId).toBe('client');
    expect(got.subscriptionId).toBe(sub1);
    expect(got.subscriptionSource).toBe('auth-file');
    expect(redact('token azure-secret-value-xyz')).not.toContain('azure-secret-value-xyz');
  });

  it('does not need the profile file, and takes the auth file from $AZURE_AUTH_LOCATION', () => {
    const elsewhere = join(home, 'sp.json');
    write(elsewhere, { ...goodAuth, subscriptionId: sub2 });
    const got = resolve({ env: { AZURE_AUTH_LOCATION: elsewhere } });
    expect(got.auth?.path).toBe(elsewhere);
    expect(got.subscriptionId).toBe(sub2);
  });

  it('selects a subscription by name from the profile, or its default', () => {
    write(profileFile(), profile, { bom: true });
    expect(resolve({ subscription: 'first' })).toMatchObject({
      subscriptionId: sub1,
      tenantId: 't1',
      auth: undefined,
    });
    expect(resolve()).toMatchObject({ subscriptionId: sub2, subscriptionSource: 'profile' });
    expect(resolve({ subscription: sub2.toUpperCase() }).subscriptionId).toBe(sub2);
  });

  it('falls back to $AZURE_SUBSCRIPTION_ID for the standard credential chain', () => {
    expect(resolve({ env: { AZURE_SUBSCRIPTION_ID: sub2 } })).toMatchObject({
      subscriptionId: sub2,
      auth: undefined,
    });
  });

  it('says in one line what is wrong with a bad file, and where', () => {
    write(authFile(), '{"clientId": "x",');
    const notJson = thrown(() => resolve());
    expect(notJson).toBeInstanceOf(ConfigError);
    expect(notJson.message).toMatch(/^~\/\.azure\/credentials\.json: not valid JSON/);
    expect(notJson.message).not.toContain('\n');

    write(authFile(), { ...goodAuth, clientSecret: undefined });
    expect(thrown(() => resolve()).message).toBe('~/.azure/credentials.json: field "clientSecret": missing');

    write(authFile(), { ...goodAuth, tenantId: 7 });
    expect(thrown(() => resolve()).message).toMatch(/^~\/\.azure\/credentials\.json: field "tenantId": /);

    rmSync(authFile());
    write(profileFile(), { subscriptions: [] });
    expect(thrown(() => resolve()).message).toBe(
      '~/.azure/azureProfile.json: field "subscriptions": must list at least one subscription',
    );
  });

  it('refuses a named file that is absent, an unknown subscription name, and no subscription at all', () => {
    const missing = thrown(() => resolve({ authFile: join(home, 'nope.json') }));
    expect(missing).toBeInstanceOf(CredentialsError);
    expect(missing.message).toBe('azure: no auth file at ~/nope.json');
    write(profileFile(), profile);
    expect(thrown(() => resolve({ subscription: 'other' })).message).toMatch(
      /^--azure-subscription: no subscription named "other" in ~\/\.azure\/azureProfile\.json/,
    );
    rmSync(profileFile());
    expect(thrown(() => resolve())).toBeInstanceOf(CredentialsError);
  });

  it('warns when the auth file is readable by others', () => {
    write(authFile(), goodAuth, { mode: 0o644 });
    expect(resolve().warnings[0]).toMatch(/readable by others/);
  });
});
