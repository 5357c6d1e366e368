import { AppError } from '../../core/errors.js';

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/**
 * Whether tokens may be sent to `uri`: an http(s) URL without credentials or fragment, with the
 * origin of an allow-list entry and a path under the entry's path (an origin allows every path).
 */
export function isAllowedRedirect(uri: string, allowlist: readonly string[]): boolean {
  const target = parseUrl(uri);
  if (!target || !['http:', 'https:'].includes(target.protocol) || target.username || target.password || uri.includes('#')) return false;
  return allowlist.some((entry) => {
    const allowed = parseUrl(entry);
    if (allowed?.origin !== target.origin) return false;
    const prefix = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
    return target.pathname === allowed.pathname || target.pathname.startsWith(prefix);
  });
}

/** Refuses (422) a login's `redirect_uri` that is not on the allow-list: tokens are only ever sent there. */
export function assertAllowedRedirect(uri: string, allowlist: readonly string[]): void {
  if (isAllowedRedirect(uri, allowlist)) return;
  throw AppError.validation('sso_redirect_uri_not_allowed', 'redirect_uri is not on this service’s allow-list (SSO_REDIRECT_ALLOWLIST)', [
    { path: '/query/redirect_uri', message: 'must be an allowed http(s) URL without a fragment' },
  ]);
}
