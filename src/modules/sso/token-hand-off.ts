import type { TokenPair } from '../../auth/sessions.js';

// Tokens in a response must not be kept by the browser or a proxy.
export const NO_STORE = { 'Cache-Control': 'no-store' };

/**
 * How every SSO login gives the client its tokens: a 302 to the redirect URI with the pair in the
 * fragment, or the pair as JSON when there is no redirect URI or the client prefers JSON.
 */
export function handOffTokens(tokens: TokenPair, redirectUri: string | null, prefersJson: boolean) {
  const pair = { access_token: tokens.accessToken, refresh_token: tokens.refreshToken, token_type: 'bearer' as const, expires_in: tokens.expiresIn };
  if (redirectUri === null || prefersJson) return { status: 200 as const, body: pair, headers: NO_STORE };
  // In the fragment, which browsers never send to a server, so the tokens stay out of access logs.
  const fragment = new URLSearchParams({ ...pair, expires_in: String(pair.expires_in) });
  return { status: 302 as const, headers: { Location: `${redirectUri}#${fragment}`, ...NO_STORE } };
}
