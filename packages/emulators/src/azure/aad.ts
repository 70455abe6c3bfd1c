import { randomBytes } from 'node:crypto';
import { type Route, reply, route } from '../http/routes.js';

export interface AadApplication {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/**
 * Microsoft Entra ID as @azure/identity's ClientSecretCredential uses it (MSAL's client-credentials
 * flow): instance discovery, the tenant's OpenID configuration and the v2 token endpoint. Tokens are
 * opaque strings the ARM routes accept while they are in `issued`.
 */
export function aadRoutes(app: AadApplication, issued: Set<string>): Route[] {
  const openIdConfiguration = (origin: string, tenant: string) => ({
    token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
    issuer: `${origin}/${tenant}/v2.0`,
    jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    tenant_region_scope: 'NA',
  });
  return [
    route(
      'GET',
      '/common/discovery/instance',
      (ctx) =>
        reply(200, {
          tenant_discovery_endpoint: `${ctx.baseUrl}/${app.tenantId}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [
            {
              preferred_network: new URL(ctx.baseUrl).host,
              preferred_cache: new URL(ctx.baseUrl).host,
              aliases: [new URL(ctx.baseUrl).host],
            },
          ],
        }),
      { outsideSpec: true, operationId: 'aad.instanceDiscovery' },
    ),
    route(
      'GET',
      '/{tenant}/v2.0/.well-known/openid-configuration',
      (ctx) => {
        if (
          ctx.params.tenant !== app.tenantId &&
          ctx.params.tenant !== 'common' &&
          ctx.params.tenant !== 'organizations'
        )
          return reply(400, {
            error: 'invalid_tenant',
            error_description: `AADSTS90002: Tenant '${ctx.params.tenant}' not found.`,
          });
        return reply(200, openIdConfiguration(ctx.baseUrl, ctx.params.tenant));
      },
      { outsideSpec: true, operationId: 'aad.openidConfiguration' },
    ),
    route(
      'POST',
      '/{tenant}/oauth2/v2.0/token',
      (ctx) => {
        const form = new URLSearchParams(ctx.rawBody.toString('utf8'));
        const deny = (error: string, description: string) =>
          reply(401, { error, error_description: description, error_codes: [7000215] });
        if (ctx.params.tenant !== app.tenantId)
          return reply(400, {
            error: 'invalid_request',
            error_description: `AADSTS90002: Tenant '${ctx.params.tenant}' not found.`,
          });
        if (form.get('grant_type') !== 'client_credentials')
          return reply(400, {
            error: 'unsupported_grant_type',
            error_description: 'only client_credentials is served',
          });
        if (form.get('client_id') !== app.clientId || form.get('client_secret') !== app.clientSecret)
          return deny('invalid_client', 'AADSTS7000215: Invalid client secret provided.');
        const token = randomBytes(24).toString('base64url');
        issued.add(token);
        return reply(200, {
          token_type: 'Bearer',
          expires_in: 3599,
          ext_expires_in: 3599,
          access_token: token,
        });
      },
      { outsideSpec: true, operationId: 'aad.token' },
    ),
  ];
}
