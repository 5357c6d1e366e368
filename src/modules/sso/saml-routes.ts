import type { Container } from '../../container.js';
import type { HandlersFor } from '../../http/types.js';

type SamlOperation = 'discoverSso' | 'getSamlMetadata' | 'startSamlLogin' | 'consumeSamlResponse';

// Tokens in a response must not be kept by the browser or a proxy.
const NO_STORE = { 'Cache-Control': 'no-store' };

export function samlHandlers({ services: { samlLogin } }: Container): HandlersFor<SamlOperation> {
  return {
    async discoverSso({ query }) {
      const { config, loginUrl } = await samlLogin.discover(query.email);
      return { status: 200, body: { sso_config_id: config.id, provider_name: config.providerName, login_url: loginUrl } };
    },

    async getSamlMetadata({ params }) {
      return { status: 200, body: await samlLogin.metadata(params.sso_config_id), contentType: 'application/samlmetadata+xml' };
    },

    async startSamlLogin({ params, query }) {
      const location = await samlLogin.startLogin(params.sso_config_id, query.redirect_uri);
      return { status: 302, headers: { Location: location, ...NO_STORE } };
    },

    async consumeSamlResponse({ params, body, meta, accepts }) {
      const { tokens, redirectUri } = await samlLogin.consume(params.sso_config_id, body.SAMLResponse, body.RelayState, meta);
      const pair = { access_token: tokens.accessToken, refresh_token: tokens.refreshToken, token_type: 'bearer' as const, expires_in: tokens.expiresIn };
      if (redirectUri === null || accepts(['text/html', 'application/json']) === 'application/json') {
        return { status: 200, body: pair, headers: NO_STORE };
      }
      // In the fragment, which browsers never send to a server, so the tokens stay out of access logs.
      const fragment = new URLSearchParams({ ...pair, expires_in: String(pair.expires_in) });
      return { status: 302, headers: { Location: `${redirectUri}#${fragment}`, ...NO_STORE } };
    },
  };
}
