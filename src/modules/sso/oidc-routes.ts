import type { Container } from '../../container.js';
import type { HandlersFor } from '../../http/types.js';
import { handOffTokens, NO_STORE } from './token-hand-off.js';

type OidcOperation = 'startOidcLogin' | 'completeOidcLogin';

export function oidcHandlers({ services: { oidcLogin } }: Container): HandlersFor<OidcOperation> {
  return {
    async startOidcLogin({ params, query }) {
      const location = await oidcLogin.startLogin(params.sso_config_id, query.redirect_uri);
      return { status: 302, headers: { Location: location, ...NO_STORE } };
    },

    async completeOidcLogin({ params, query, meta, accepts }) {
      const { tokens, redirectUri } = await oidcLogin.complete(params.sso_config_id, { state: query.state, code: query.code, iss: query.iss, error: query.error }, meta);
      return handOffTokens(tokens, redirectUri, accepts(['text/html', 'application/json']) === 'application/json');
    },
  };
}
