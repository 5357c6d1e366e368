import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

export interface OidcAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  /** Claims as a non-OpenID provider names them (scope `directory`), for `attribute_mapping` tests. */
  user_id?: number;
  mail?: string;
  display_name?: string;
}

/** The provider's endpoints (oidc-provider's default routes), for a plain OAuth 2.0 configuration that names them itself. */
export interface OAuthEndpoints {
  authorization: string;
  token: string;
  userinfo: string;
  jwks: string;
}

export interface OidcClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const KID = 'test-key-1';

export async function rsaKey(): Promise<{ privateKey: SigningKey; jwk: JWK }> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' } };
}

/**
 * The organization's OpenID provider inside the tests: the real `oidc-provider` on a loopback
 * port. Whoever reaches its login page is signed in as `account` at once (no form), and the
 * grant covers every scope asked for, so no consent page either. `tamperIdToken` lets a test
 * replace the ID token of the next token responses with one it makes, e.g. with `sign`.
 * It is the plain OAuth 2.0 authorization server of the OAuth tests too (`endpoints`, no discovery).
 */
export class TestOpenIdProvider {
  account: OidcAccount = { sub: 'nobody' };
  tamperIdToken: ((claims: JWTPayload) => Promise<string>) | null = null;
  private provider: Provider | undefined;
  private signingKey: SigningKey | undefined;

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  /** Listens first, so that the issuer URL is known before the clients (and their redirect URIs) are. */
  static async listen(): Promise<TestOpenIdProvider> {
    const started: { idp?: TestOpenIdProvider } = {};
    const server = createServer((req, res) => {
      void started.idp?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    started.idp = new TestOpenIdProvider(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return started.idp;
  }

  /**
   * `claimsInIdToken` (default) puts the scopes' claims into the ID token, as most enterprise
   * providers do; false keeps oidc-provider's default, where they are only at the userinfo endpoint.
   */
  async start(clients: OidcClient[], { claimsInIdToken = true } = {}): Promise<void> {
    const { privateKey, jwk } = await rsaKey();
    this.signingKey = privateKey;
    const provider = new Provider(this.issuer, {
      clients: clients.map((client) => ({ ...client, grant_types: ['authorization_code'], response_types: ['code'] })),
      jwks: { keys: [jwk] },
      cookies: { keys: ['test-only-cookie-key'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'], directory: ['user_id', 'mail', 'display_name'] },
      conformIdTokenClaims: !claimsInIdToken,
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ ...this.account, sub: id }) }),
      loadExistingGrant: async (ctx) => {
        const { oidc } = ctx;
        if (!oidc.client || !oidc.session?.accountId) return undefined;
        const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
        const scope = oidc.params?.scope;
        grant.addOIDCScope(typeof scope === 'string' ? scope : 'openid');
        await grant.save();
        return grant;
      },
    });
    provider.use(async (ctx: KoaContextWithOIDC, next) => {
      await next();
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.oidc?.route === 'token' && this.tamperIdToken && body?.id_token) {
        ctx.body = { ...body, id_token: await this.tamperIdToken(decodeJwt(body.id_token)) };
      }
    });
    this.provider = provider;
  }

  /**
   * Its authorization, token, userinfo and JWKS endpoints. Its userinfo endpoint answers only
   * access tokens granted `openid`, so OAuth configurations of it ask for that scope too (and the
   * ID token that comes with it is the service's to ignore).
   */
  get endpoints(): OAuthEndpoints {
    return { authorization: `${this.issuer}/auth`, token: `${this.issuer}/token`, userinfo: `${this.issuer}/me`, jwks: `${this.issuer}/jwks` };
  }

  /** An ID token signed as this provider signs (its key and kid), or with `key` instead. */
  async sign(claims: JWTPayload, key: SigningKey = this.signingKey as SigningKey): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(key);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const provider = this.provider;
    if (!provider) {
      res.writeHead(503).end();
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      await provider.interactionFinished(req, res, { login: { accountId: this.account.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    await provider.callback()(req, res);
  }
}

/** A browser's cookies for one login, by name (paths do not matter on one test host). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair && at > 0) this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Follows the provider's redirects from an authorization URL as a browser would, until the
 * provider sends the browser to `callbackPrefix`; answers that callback URL.
 */
export async function followToCallback(authorizationUrl: string, callbackPrefix: string): Promise<URL> {
  const jar = new CookieJar();
  let url = authorizationUrl;
  for (let hop = 0; hop < 10; hop += 1) {
    if (url.startsWith(callbackPrefix)) return new URL(url);
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(response);
    const location = response.headers.get('location');
    if (!location) throw new Error(`the provider answered ${response.status} without a redirect at ${url}: ${await response.text()}`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}
