import { X509Certificate } from 'node:crypto';
import type { FieldError } from '../../core/errors.js';
import { AppError } from '../../core/errors.js';

/** The fields that decide whether a configuration can work, after an update is merged in. */
export interface SsoSettings {
  providerType: string;
  samlEntityId: string | null;
  samlSsoUrl: string | null;
  samlSloUrl: string | null;
  samlX509Cert: string | null;
  oauthClientId: string | null;
  oauthAuthorizationUrl: string | null;
  oauthTokenUrl: string | null;
  oauthUserinfoUrl: string | null;
  oidcDiscoveryUrl: string | null;
}

export interface CertificateFacts {
  fingerprint: string;
  expiresAt: Date;
}

/** Parses a PEM X.509 certificate; null when it is not one. */
export function certificateFacts(pem: string): CertificateFacts | null {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return null;
  try {
    const certificate = new X509Certificate(pem);
    return { fingerprint: certificate.fingerprint256, expiresAt: new Date(certificate.validTo) };
  } catch {
    return null;
  }
}

const URL_FIELDS: [keyof SsoSettings, string][] = [
  ['samlSsoUrl', 'saml_sso_url'],
  ['samlSloUrl', 'saml_slo_url'],
  ['oauthAuthorizationUrl', 'oauth_authorization_url'],
  ['oauthTokenUrl', 'oauth_token_url'],
  ['oauthUserinfoUrl', 'oauth_userinfo_url'],
  ['oidcDiscoveryUrl', 'oidc_discovery_url'],
];

const REQUIRED: Record<string, [keyof SsoSettings, string][]> = {
  saml: [
    ['samlEntityId', 'saml_entity_id'],
    ['samlSsoUrl', 'saml_sso_url'],
    ['samlX509Cert', 'saml_x509_cert'],
  ],
  oidc: [
    ['oauthClientId', 'oauth_client_id'],
    ['oidcDiscoveryUrl', 'oidc_discovery_url'],
  ],
  oauth: [
    ['oauthClientId', 'oauth_client_id'],
    ['oauthAuthorizationUrl', 'oauth_authorization_url'],
    ['oauthTokenUrl', 'oauth_token_url'],
    // The claims come from there: there is no ID token.
    ['oauthUserinfoUrl', 'oauth_userinfo_url'],
  ],
};

/** Refuses (422, every problem listed) a configuration that could not sign anyone in safely. */
export function assertUsable(settings: SsoSettings, options: { allowHttp: boolean }): void {
  const errors: FieldError[] = [];
  for (const [field, wire] of REQUIRED[settings.providerType] ?? []) {
    if (!settings[field]) errors.push({ path: `/body/${wire}`, message: `is required for ${settings.providerType} configurations` });
  }
  for (const [field, wire] of URL_FIELDS) {
    const value = settings[field];
    if (value && !value.startsWith('https://') && !options.allowHttp) {
      errors.push({ path: `/body/${wire}`, message: 'must be an https URL in production' });
    }
  }
  if (settings.samlX509Cert && !certificateFacts(settings.samlX509Cert)) {
    errors.push({ path: '/body/saml_x509_cert', message: 'must be an X.509 certificate in PEM form (-----BEGIN CERTIFICATE-----)' });
  }
  if (errors.length > 0) {
    throw AppError.validation('sso_configuration_invalid', `Invalid SSO configuration: ${errors.map((e) => `${e.path.slice(6)} ${e.message}`).join('; ')}`, errors);
  }
}
