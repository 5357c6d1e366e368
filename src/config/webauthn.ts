export interface WebAuthnConfig {
  /** The relying party id passkeys are bound to: the web app's host name or a parent domain of it. */
  rpId: string;
  /** The name authenticators show beside a passkey. */
  rpName: string;
  /** The origins whose pages may run a ceremony (the web app's), each on the rp id or below it. */
  origins: string[];
}

function originOf(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return ['http:', 'https:'].includes(url.protocol) && url.origin === raw.replace(/\/+$/, '') ? url : null;
  } catch {
    return null;
  }
}

/**
 * WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS and WEBAUTHN_RP_NAME. Browsers run passkey ceremonies in the
 * web app's pages, not at the API, so the defaults come from APP_BASE_URL: its origin, and its host
 * name as the rp id. Browsers refuse an origin outside the rp id's domain, and plain http anywhere
 * but localhost: both are refused here, at start-up, instead of failing at the user's first passkey.
 */
export function parseWebAuthn(read: (name: string) => string | undefined, appBaseUrl: string, defaultRpName: string, production: boolean, problems: string[]): WebAuthnConfig {
  const originList = read('WEBAUTHN_ORIGINS');
  const origins = (originList ?? new URL(appBaseUrl).origin)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const rpId = (read('WEBAUTHN_RP_ID') ?? originOf(origins[0] ?? '')?.hostname ?? 'localhost').toLowerCase();
  if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(rpId)) {
    problems.push(`WEBAUTHN_RP_ID must be a host name like example.com, without scheme or port (got "${rpId}")`);
  }
  if (origins.length === 0) problems.push('WEBAUTHN_ORIGINS must list at least one origin, like https://app.example.com');
  // APP_BASE_URL's own checks cover the default; these are for origins given here.
  for (const entry of originList === undefined ? [] : origins) {
    const url = originOf(entry);
    if (!url) {
      problems.push(`WEBAUTHN_ORIGINS must list origins (scheme, host and optional port, no path), like https://app.example.com (got "${entry}")`);
      continue;
    }
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
      problems.push(`WEBAUTHN_ORIGINS: ${entry} is outside WEBAUTHN_RP_ID ${rpId} (its host must be ${rpId} or end in .${rpId})`);
    }
    if (url.protocol === 'http:' && (production || url.hostname !== 'localhost')) {
      problems.push(`WEBAUTHN_ORIGINS: ${entry} must be https (browsers allow plain http for localhost only${production ? ', and production takes none' : ''})`);
    }
  }
  const rpName = read('WEBAUTHN_RP_NAME') ?? defaultRpName;
  if (!/^[^\p{Cc}]{1,64}$/u.test(rpName) || rpName.trim() !== rpName) problems.push('WEBAUTHN_RP_NAME must be 1 to 64 printable characters without surrounding spaces');
  return { rpId, rpName, origins: origins.map((entry) => entry.replace(/\/+$/, '')) };
}
