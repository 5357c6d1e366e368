import { createPrivateKey, createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, expectProblem, login, registerOrganization } from '../helpers/fixtures.js';
import { KEY_PAIR_ALGORITHMS, type KeyPairAlgorithm, makeKeyPair, type PemKeyPair } from '../helpers/jwt-keys.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ISSUER = 'fm-auth';
const AUDIENCE = 'fm-auth-api';

/** A server signing with `pair`; JWT_SECRET_KEY cleared, since asymmetric algorithms do not use it. */
function startSigningServer(algorithm: KeyPairAlgorithm, pair: PemKeyPair, env: Record<string, string> = {}): Promise<TestServer> {
  return startServer({ JWT_SECRET_KEY: '', JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: pair.privateKey, ...env });
}

async function kidOf(publicKeyPem: string): Promise<string> {
  return calculateJwkThumbprint(createPublicKey(publicKeyPem), 'sha256');
}

/** What a service holding only our JWKS URL does to check one of our tokens. */
function verifyWithJwks(server: TestServer, token: string, algorithm: KeyPairAlgorithm) {
  const jwks = createRemoteJWKSet(new URL(`${server.baseUrl}/.well-known/jwks.json`));
  return jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, algorithms: [algorithm] });
}

/** Signs `claims` as an attacker (or a misconfigured issuer) would, choosing alg, key and kid. */
function forge(claims: JWTPayload, alg: string, key: Parameters<SignJWT['sign']>[0], kid?: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) }).sign(key);
}

function without(claims: JWTPayload, claim: string): JWTPayload {
  const { [claim]: _dropped, ...rest } = claims;
  return rest;
}

function expectInvalidToken(response: Awaited<ReturnType<TestServer['request']>>): void {
  expectProblem(response, 401, 'token_invalid');
  expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
}

describe('GET /.well-known/jwks.json', () => {
  it('answers an empty set with HS256, whose key is secret', async () => {
    const server = await startServer();
    try {
      const response = await server.request('GET', '/.well-known/jwks.json');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ keys: [] });
      expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    } finally {
      await server.close();
    }
  });

  describe.each(KEY_PAIR_ALGORITHMS)('with JWT_ALGORITHM=%s', (algorithm) => {
    const pair = makeKeyPair(algorithm);
    let server: TestServer;
    let account: Account;

    beforeAll(async () => {
      server = await startSigningServer(algorithm, pair);
      account = await registerOrganization(server);
    });
    afterAll(async () => {
      await server.close();
    });

    it('publishes the public key alone, named by its RFC 7638 thumbprint, for anyone to cache', async () => {
      const response = await server.request('GET', '/.well-known/jwks.json');
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=300');
      const jwk = createPublicKey(pair.publicKey).export({ format: 'jwk' });
      expect(response.body).toEqual({ keys: [{ ...jwk, kid: await kidOf(pair.publicKey), use: 'sig', alg: algorithm }] });
      expect(response.text).not.toMatch(/"d"|"p"|"q"/);
    });

    it('issues access tokens that a verifier with only the JWKS accepts, and that /auth/me accepts', async () => {
      const tokens = await login(server, account);
      expect(decodeProtectedHeader(tokens.access_token)).toEqual({ alg: algorithm, typ: 'JWT', kid: await kidOf(pair.publicKey) });
      const { payload } = await verifyWithJwks(server, tokens.access_token, algorithm);
      expect(payload).toMatchObject({ sub: account.userId, org_id: account.organizationId, type: 'access', iss: ISSUER, aud: AUDIENCE });
      expect((await server.request('GET', `${API}/auth/me`, { token: tokens.access_token })).status).toBe(200);

      const refreshed = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
      expect(refreshed.status).toBe(200);
      await expect(verifyWithJwks(server, refreshed.body.access_token, algorithm)).resolves.toBeDefined();
    });
  });
});

describe('key rotation with JWT_PREVIOUS_PUBLIC_KEY', () => {
  const keyA = makeKeyPair('EdDSA');
  const keyB = makeKeyPair('EdDSA');
  let before: TestServer;
  let account: Account;
  let tokenA: string;

  beforeAll(async () => {
    before = await startSigningServer('EdDSA', keyA);
    account = await registerOrganization(before);
    tokenA = (await login(before, account)).access_token;
  });
  afterAll(async () => {
    await before.close();
  });

  it('keeps tokens of the previous key valid, publishes both keys, and signs with the new one', async () => {
    const after = await startSigningServer('EdDSA', keyB, { JWT_PREVIOUS_PUBLIC_KEY: keyA.publicKey });
    try {
      expect((await after.request('GET', `${API}/auth/me`, { token: tokenA })).status).toBe(200);
      const jwks = await after.request('GET', '/.well-known/jwks.json');
      expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual([await kidOf(keyB.publicKey), await kidOf(keyA.publicKey)]);
      await expect(verifyWithJwks(after, tokenA, 'EdDSA')).resolves.toBeDefined();

      const tokenB = (await login(after, account)).access_token;
      expect(decodeProtectedHeader(tokenB).kid).toBe(await kidOf(keyB.publicKey));
      await expect(verifyWithJwks(after, tokenB, 'EdDSA')).resolves.toBeDefined();
      expectInvalidToken(await before.request('GET', `${API}/auth/me`, { token: tokenB }));
    } finally {
      await after.close();
    }
  });

  it('refuses tokens of the previous key once it is no longer configured', async () => {
    const after = await startSigningServer('EdDSA', keyB);
    try {
      expectInvalidToken(await after.request('GET', `${API}/auth/me`, { token: tokenA }));
      const jwks = await after.request('GET', '/.well-known/jwks.json');
      expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual([await kidOf(keyB.publicKey)]);
    } finally {
      await after.close();
    }
  });
});

describe.each<KeyPairAlgorithm>(['RS256', 'EdDSA', 'ES256'])('forged and malformed tokens on a %s server, each 401', (algorithm) => {
  const pair = makeKeyPair(algorithm);
  const privateKey = createPrivateKey(pair.privateKey);
  // Another asymmetric algorithm, to sign a token its own key fits.
  const other: KeyPairAlgorithm = algorithm === 'EdDSA' ? 'RS256' : 'EdDSA';
  const otherPair = makeKeyPair(other);
  let server: TestServer;
  let claims: JWTPayload;
  let kid: string;

  beforeAll(async () => {
    server = await startSigningServer(algorithm, pair);
    claims = decodeJwt((await login(server, await registerOrganization(server))).access_token);
    kid = await kidOf(pair.publicKey);
  });
  afterAll(async () => {
    await server.close();
  });

  const me = (token: string) => server.request('GET', `${API}/auth/me`, { token });

  it('accepts the real claims re-signed with its own key and kid (the forgeries below differ in one thing each)', async () => {
    expect((await me(await forge(claims, algorithm, privateKey, kid))).status).toBe(200);
  });

  it.each<[string, () => Promise<string>]>([
    ['HS256, HMAC-signed with the public key PEM as the secret', () => forge(claims, 'HS256', new TextEncoder().encode(pair.publicKey), kid)],
    [`${other}, signed with a key of its own under the server's kid`, () => forge(claims, other, createPrivateKey(otherPair.privateKey), kid)],
    [
      'signed with an unknown key, named by its own kid',
      async () => {
        const unknown = makeKeyPair(algorithm);
        return forge(claims, algorithm, createPrivateKey(unknown.privateKey), await kidOf(unknown.publicKey));
      },
    ],
    ['signed with the right key but an unknown kid', () => forge(claims, algorithm, privateKey, 'an-unknown-key-id')],
    ['signed with the right key but no kid', () => forge(claims, algorithm, privateKey)],
    ['without exp', () => forge(without(claims, 'exp'), algorithm, privateKey, kid)],
    ['without iat', () => forge(without(claims, 'iat'), algorithm, privateKey, kid)],
    ['without jti', () => forge(without(claims, 'jti'), algorithm, privateKey, kid)],
    ['without sid', () => forge(without(claims, 'sid'), algorithm, privateKey, kid)],
  ])('%s', async (_label, makeToken) => {
    expectInvalidToken(await me(await makeToken()));
  });
});
