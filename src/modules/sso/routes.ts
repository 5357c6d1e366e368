import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { givenFields, pageOf } from '../../http/params.js';
import type { SsoConfigurationRow as SsoRow } from '../../db/schema.js';
import { certificateFacts } from './validation.js';

function toSsoConfiguration(row: SsoRow): Schemas['SsoConfiguration'] {
  const certificate = row.samlX509Cert ? certificateFacts(row.samlX509Cert) : null;
  return {
    id: row.id,
    organization_id: row.organizationId,
    provider_type: row.providerType as Schemas['ProviderType'],
    provider_name: row.providerName,
    is_enabled: row.isEnabled,
    saml_entity_id: row.samlEntityId,
    saml_sso_url: row.samlSsoUrl,
    saml_slo_url: row.samlSloUrl,
    saml_x509_cert: row.samlX509Cert,
    saml_name_id_format: row.samlNameIdFormat,
    saml_certificate_fingerprint: certificate?.fingerprint ?? null,
    saml_certificate_expires_at: certificate?.expiresAt.toISOString() ?? null,
    oauth_client_id: row.oauthClientId,
    has_client_secret: row.oauthClientSecretEncrypted !== null,
    oauth_authorization_url: row.oauthAuthorizationUrl,
    oauth_token_url: row.oauthTokenUrl,
    oauth_userinfo_url: row.oauthUserinfoUrl,
    oauth_scopes: row.oauthScopes,
    oidc_discovery_url: row.oidcDiscoveryUrl,
    attribute_mapping: row.attributeMapping,
    auto_create_users: row.autoCreateUsers,
    default_role_id: row.defaultRoleId,
    allow_idp_initiated: row.allowIdpInitiated,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

type SsoBody = Schemas['SsoConfigurationCreate'] | Schemas['SsoConfigurationUpdate'];

/** The settings a create or update body gives, in column names (absent fields stay absent). */
function settingsOf(body: SsoBody) {
  return givenFields({
    providerName: body.provider_name,
    isEnabled: body.is_enabled,
    samlEntityId: body.saml_entity_id,
    samlSsoUrl: body.saml_sso_url,
    samlSloUrl: body.saml_slo_url,
    samlX509Cert: body.saml_x509_cert,
    samlNameIdFormat: body.saml_name_id_format,
    oauthClientId: body.oauth_client_id,
    clientSecret: body.oauth_client_secret,
    oauthAuthorizationUrl: body.oauth_authorization_url,
    oauthTokenUrl: body.oauth_token_url,
    oauthUserinfoUrl: body.oauth_userinfo_url,
    oauthScopes: body.oauth_scopes,
    oidcDiscoveryUrl: body.oidc_discovery_url,
    attributeMapping: body.attribute_mapping,
    autoCreateUsers: body.auto_create_users,
    defaultRoleId: body.default_role_id,
    allowIdpInitiated: body.allow_idp_initiated,
  });
}

type SsoOperation = 'createSsoConfiguration' | 'listSsoConfigurations' | 'getSsoConfiguration' | 'updateSsoConfiguration' | 'deleteSsoConfiguration';

export function ssoHandlers({ services: { sso } }: Container): HandlersFor<SsoOperation> {
  return {
    async createSsoConfiguration({ body, principal, meta }) {
      const row = await sso.create(principal(), body.organization_id, { ...settingsOf(body), providerType: body.provider_type, providerName: body.provider_name }, meta);
      return { status: 201, body: toSsoConfiguration(row) };
    },

    async listSsoConfigurations({ params, query, principal }) {
      const page = await sso.list(principal(), params.organization_id, pageOf(query));
      return { status: 200, body: page.items.map(toSsoConfiguration), headers: { 'X-Total-Count': String(page.total) } };
    },

    async getSsoConfiguration({ params, principal }) {
      return { status: 200, body: toSsoConfiguration(await sso.get(principal(), params.sso_config_id)) };
    },

    async updateSsoConfiguration({ params, body, principal, meta }) {
      return { status: 200, body: toSsoConfiguration(await sso.update(principal(), params.sso_config_id, settingsOf(body), meta)) };
    },

    async deleteSsoConfiguration({ params, principal, meta }) {
      await sso.remove(principal(), params.sso_config_id, meta);
      return { status: 204 };
    },
  };
}
