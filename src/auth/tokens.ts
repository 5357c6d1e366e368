import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config/index.js';
import { AppError } from '../core/errors.js';
import { Keyring, type PublicJwk } from './keyring.js';

export interface AccessClaims {
  sub: string;
  email: string;
  org_id: string;
  sid: string;
  jti: string;
  type: 'access';
  /** RFC 8176 authentication methods of the session's login; absent from tokens issued before MFA existed. */
  amr?: string[];
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

const REFRESH_TOKEN_BYTES = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** An opaque refresh token (256 random bits) and the hash that is all the database keeps. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

// jose checks exp only when present: a token without it would never expire, so it is refused.
function isAccessClaims(payload: unknown): payload is AccessClaims & { exp: number } {
  if (typeof payload !== 'object' || payload === null) return false;
  const claims = payload as Record<string, unknown>;
  return (
    claims.type === 'access' &&
    typeof claims.exp === 'number' &&
    typeof claims.iat === 'number' &&
    typeof claims.sub === 'string' &&
    UUID.test(claims.sub) &&
    typeof claims.sid === 'string' &&
    UUID.test(claims.sid) &&
    typeof claims.org_id === 'string' &&
    typeof claims.email === 'string' &&
    typeof claims.jti === 'string' &&
    (claims.amr === undefined || (Array.isArray(claims.amr) && claims.amr.every((method) => typeof method === 'string')))
  );
}

/** About 6 MB of tokens and claims at most. */
const MAX_VERIFIED_TOKENS = 10_000;

/**
 * Signs and verifies access tokens; the algorithm is pinned (an HMAC token is never checked
 * against a public key, nor an EdDSA one against an RSA key), iss/aud/exp always checked.
 */
export class AccessTokens {
  // Key objects made once: parsing a key on every request is CPU every authenticated request pays.
  // A promise because the kid (a SHA-256 thumbprint) comes from WebCrypto, which is asynchronous.
  private readonly keyring: Promise<Keyring>;
  /**
   * Tokens whose signature, algorithm, issuer and audience were verified, with their claims, in
   * least-recently-used order. Verification is deterministic for a token and the keys (fixed at
   * start-up), so a byte-identical token needs only its expiry checked again; a client sends the
   * same token for its whole lifetime, and the signature check was most of a request's CPU.
   */
  private readonly verified = new Map<string, { claims: AccessClaims; exp: number }>();

  constructor(private readonly config: Config['jwt']) {
    this.keyring = Keyring.load(config);
  }

  /** The public keys that verify our tokens, for GET /.well-known/jwks.json. */
  async publicKeys(): Promise<PublicJwk[]> {
    return (await this.keyring).jwks();
  }

  async issue(subject: { userId: string; email: string; organizationId: string; sessionId: string; amr: string[] }): Promise<IssuedAccessToken> {
    const claims: AccessClaims = {
      sub: subject.userId,
      email: subject.email,
      org_id: subject.organizationId,
      sid: subject.sessionId,
      jti: randomUUID(),
      type: 'access',
      amr: subject.amr,
    };
    // One clock reading for both, so exp - iat is exactly the lifetime.
    const now = Math.floor(Date.now() / 1000);
    const keyring = await this.keyring;
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: this.config.algorithm, typ: 'JWT', kid: keyring.signingKid })
      .setIssuer(this.config.issuer)
      .setAudience(this.config.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.config.accessTokenTtlSeconds)
      .sign(keyring.signingKey);
    return { token, expiresIn: this.config.accessTokenTtlSeconds };
  }

  /** Returns the claims of a valid access token; anything else is a 401 that says nothing of the token. */
  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      this.verified.delete(token);
      // As jose checks it: expired from the second `exp` names.
      if (known.exp <= Math.floor(Date.now() / 1000)) throw TOKEN_EXPIRED();
      this.verified.set(token, known);
      return known.claims;
    }
    const { claims, exp } = await this.verifySignature(token);
    this.verified.set(token, { claims, exp });
    if (this.verified.size > MAX_VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value as string);
    return claims;
  }

  private async verifySignature(token: string): Promise<{ claims: AccessClaims; exp: number }> {
    for (const key of (await this.keyring).verificationKeysFor(token)) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [this.config.algorithm],
          issuer: this.config.issuer,
          audience: this.config.audience,
        }));
      } catch (err) {
        // Only a signature mismatch is worth retrying with the previous HMAC key.
        if (err instanceof errors.JWSSignatureVerificationFailed) continue;
        throw invalidToken(err);
      }
      if (!isAccessClaims(payload)) throw AppError.unauthorized('token_invalid', 'The access token is invalid', 'invalid_token');
      return { claims: payload, exp: payload.exp };
    }
    throw AppError.unauthorized('token_invalid', 'The access token is invalid', 'invalid_token');
  }
}

const TOKEN_EXPIRED = () => AppError.unauthorized('token_expired', 'The access token has expired', 'invalid_token');

function invalidToken(err: unknown): AppError {
  if (err instanceof errors.JWTExpired) return TOKEN_EXPIRED();
  return AppError.unauthorized('token_invalid', 'The access token is invalid', 'invalid_token');
}
