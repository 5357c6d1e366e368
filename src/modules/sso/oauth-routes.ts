import type { Container } from '../../container.js';
import type { HandlersFor } from '../../http/types.js';
import { handOffTokens, NO_STORE } from './token-hand-off.js';

type OAuthOperation = 'startOauthLogin' | 'completeOauthLogin';

export function oauthHandlers({ services: { oauthLogin } }: Container): HandlersFor<OAuthOperation> {
  return {
    async startOauthLogin({ params, query }) {
      const location = await oauthLogin.startLogin(params.sso_config_id, query.redirect_uri);
      return { status: 302, headers: { Location: location, ...NO_STORE } };
    },

    async completeOauthLogin({ params, query, meta, accepts }) {
      const { tokens, redirectUri } = await oauthLogin.complete(params.sso_config_id, { state: query.state, code: query.code, error: query.error }, meta);
      return handOffTokens(tokens, redirectUri, accepts(['text/html', 'application/json']) === 'application/json');
    },
  };
}
