import type { Container } from '../../container.js';
import type { HandlersFor } from '../../http/types.js';
import { handOffTokens, NO_STORE } from './token-hand-off.js';

type SamlOperation = 'discoverSso' | 'getSamlMetadata' | 'startSamlLogin' | 'consumeSamlResponse';

export function samlHandlers({ services: { samlLogin, ssoDiscovery } }: Container): HandlersFor<SamlOperation> {
  return {
    async discoverSso({ query }) {
      const { config, loginUrl } = await ssoDiscovery.discover(query.email);
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
      return handOffTokens(tokens, redirectUri, accepts(['text/html', 'application/json']) === 'application/json');
    },
  };
}
