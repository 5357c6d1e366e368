import createClient from 'openapi-fetch';
import type { components, paths } from '../../generated/openapi.js';

export type { components, paths } from '../../generated/openapi.js';
export type TokenPair = components['schemas']['TokenPair'];
export type Problem = components['schemas']['Problem'];
export type Credentials = components['schemas']['LoginRequest'];
export type MfaChallenge = components['schemas']['MfaChallenge'];
export type MfaAnswer = components['schemas']['MfaVerifyRequest'];

export interface FmAuthClientOptions {
  /** Where the service answers, e.g. `https://auth.example.com`; operation paths carry `/api/v1/enterprise`. */
  baseUrl: string;
  /** A pair from an earlier login (restored from storage, say); otherwise call `login`. */
  tokens?: TokenPair;
  /** Replaces the global fetch (a proxy agent, a test double of the network). */
  fetch?: (request: Request) => Promise<Response>;
  /** Sent with every request, e.g. `{ 'user-agent': 'billing-service/2.1' }`. */
  headers?: Record<string, string>;
}

export type FmAuthClient = ReturnType<typeof createFmAuthClient>;

const REFRESH_PATH = '/api/v1/enterprise/auth/refresh';

/** RFC 6750: the service names `invalid_token` for a token it refused (expired, revoked), not for missing credentials. */
function refusedToken(response: Response): boolean {
  return response.status === 401 && /\berror="invalid_token"/.test(response.headers.get('www-authenticate') ?? '');
}

function withBearer(request: Request, accessToken: string): Request {
  const authorized = new Request(request);
  authorized.headers.set('authorization', `Bearer ${accessToken}`);
  return authorized;
}

/**
 * A typed client of fm-auth that holds one session's token pair: it sends the access token as the
 * bearer, and when the service refuses it (it expired) refreshes once and retries the request.
 * Each client holds its own pair; create one per signed-in user.
 */
export function createFmAuthClient(options: FmAuthClientOptions) {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  let held = options.tokens;
  // One refresh at a time: refresh tokens are single use, and presenting one twice revokes the session.
  let refreshing: Promise<boolean> | undefined;

  const plain = createClient<paths>({ baseUrl: options.baseUrl, headers: options.headers, fetch: send });

  async function refresh(): Promise<boolean> {
    const presented = held;
    if (!presented) return false;
    const { data, response } = await plain.POST(REFRESH_PATH, { body: { refresh_token: presented.refresh_token } });
    if (data) held = data;
    // Refused means the session is over; a 429 or 503 leaves the pair for a later try.
    else if (response.status === 401 && held === presented) held = undefined;
    return data !== undefined;
  }

  async function sendWithSession(request: Request): Promise<Response> {
    const pair = held;
    if (!pair || request.headers.has('authorization')) return send(request);
    const retry = request.clone();
    const response = await send(withBearer(request, pair.access_token));
    if (!refusedToken(response) || new URL(request.url).pathname.endsWith(REFRESH_PATH)) return response;
    // Another request may have refreshed meanwhile: retry with its pair instead of refreshing again.
    if (held === pair) {
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
    }
    if (!held || held === pair) return response;
    return send(withBearer(retry, held.access_token));
  }

  const api = createClient<paths>({ baseUrl: options.baseUrl, headers: options.headers, fetch: sendWithSession });

  return {
    /** Every operation of the spec, typed from it: `api.GET('/api/v1/enterprise/auth/me')`. */
    api,
    /**
     * Logs in and holds the answered token pair; answers the login call's result. When the answer
     * is an MFA challenge (`mfa_required`), nothing is held until `verifyMfa` answers it.
     */
    async login(credentials: Credentials) {
      const result = await plain.POST('/api/v1/enterprise/auth/login', { body: credentials });
      if (result.data && !('mfa_required' in result.data)) held = result.data;
      return result;
    },
    /** Answers a login's MFA challenge with a TOTP or recovery code and holds the token pair. */
    async verifyMfa(answer: MfaAnswer) {
      const result = await plain.POST('/api/v1/enterprise/auth/mfa/verify', { body: answer });
      if (result.data) held = result.data;
      return result;
    },
    /** Ends the session on the server and forgets the pair, even when the server had already ended it. */
    async logout() {
      try {
        return await api.POST('/api/v1/enterprise/auth/logout');
      } finally {
        held = undefined;
      }
    },
    /** The held pair, to store it; undefined before a login, after a logout or a refused refresh. */
    tokens: (): TokenPair | undefined => held,
  };
}
