import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, expectProblem, login, registerOrganization, STRONG_PASSWORD, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { type ApiResponse, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
});
afterAll(async () => {
  await server.close();
});

const NUL = 'a\u0000b';

function expectControlCharacterRefusal(response: ApiResponse, path: string) {
  expectProblem(response, 422, 'request_control_characters');
  expect(response.body.errors).toContainEqual({ path, message: 'must not contain control characters' });
}

describe('control characters in strings', () => {
  it('refuses NUL in a user update with 422 and logs no password hash', async () => {
    const response = await server.request('PUT', `${API}/users/${admin.userId}`, { token: adminTokens.access_token, body: { full_name: NUL } });
    expectControlCharacterRefusal(response, '/body/full_name');
    expect(server.logs()).not.toContain('$argon2');
  });

  it('refuses NUL in POST /users, POST /roles and PUT /teams', async () => {
    const token = adminTokens.access_token;
    const user = await server.request('POST', `${API}/users`, {
      token,
      body: { organization_id: admin.organizationId, email: uniqueEmail(), full_name: NUL, password: STRONG_PASSWORD },
    });
    expectControlCharacterRefusal(user, '/body/full_name');
    const role = await server.request('POST', `${API}/roles`, {
      token,
      body: { organization_id: admin.organizationId, name: NUL, permissions: ['teams:read'] },
    });
    expectControlCharacterRefusal(role, '/body/name');
    const team = await server.request('POST', `${API}/teams`, { token, body: { organization_id: admin.organizationId, name: 'Ops', slug: `ops-${randomUUID().slice(0, 8)}` } });
    expect(team.status, team.text).toBe(201);
    expectControlCharacterRefusal(await server.request('PUT', `${API}/teams/${team.body.id}`, { token, body: { description: `x\u0007y` } }), '/body/description');
  });

  it('refuses a NUL in the query and in the path', async () => {
    const token = adminTokens.access_token;
    expectControlCharacterRefusal(await server.request('GET', `${API}/users/organization/${admin.organizationId}?q=%00`, { token }), '/query/q');
    expectControlCharacterRefusal(await server.request('GET', `${API}/users/abc%00def`, { token }), '/path');
  });

  it('refuses control characters in field names and nested values', async () => {
    const response = await server.request('POST', `${API}/auth/login`, {
      rawBody: '{"email":"a@example.com","password":"x","ext\\u0001":{"deep":["\\u001b[31m"]}}',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(response, 422, 'request_control_characters');
    expect(response.body.errors.map((error: { path: string }) => error.path)).toEqual(['/body/ext?', '/body/ext?/deep/0']);
  });

  it('keeps tab and line breaks in free text', async () => {
    const team = await server.request('POST', `${API}/teams`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, name: 'Docs', slug: `docs-${randomUUID().slice(0, 8)}`, description: 'line one\n\tline two\r\n' },
    });
    expect(team.status, team.text).toBe(201);
    expect(team.body.description).toBe('line one\n\tline two\r\n');
  });
});

describe('request bodies the service does not decode', () => {
  for (const encoding of ['gzip', 'deflate', 'br', 'x-unknown']) {
    it(`answers 415 to Content-Encoding: ${encoding}`, async () => {
      const response = await server.request('POST', `${API}/auth/login`, {
        body: { email: admin.email, password: admin.password },
        headers: { 'content-encoding': encoding },
      });
      expectProblem(response, 415, 'request_encoding_unsupported');
      expect(response.body.detail).toMatch(/Content-Encoding/);
    });
  }

  it('serves a JSON body whatever parameters its Content-Type carries, ignores a bodyless request’s, and refuses another media type', async () => {
    // Each distinct header once made the validator compile and keep validators anew: it sees the media type only now.
    for (const parameter of ['x=1', `x=${randomUUID()}`, 'CHARSET=UTF-8; q=0.5']) {
      const response = await server.request('POST', `${API}/auth/login`, {
        rawBody: JSON.stringify({ email: admin.email, password: admin.password }),
        headers: { 'content-type': `Application/JSON; ${parameter}` },
      });
      expect(response.status, parameter).toBe(200);
    }
    const stray = await server.request('GET', `${API}/auth/me`, { token: adminTokens.access_token, headers: { 'content-type': `text/x-${randomUUID()}` } });
    expect(stray.status).toBe(200);
    const other = await server.request('POST', `${API}/auth/login`, { rawBody: 'email=a', headers: { 'content-type': `application/x-${randomUUID()}` } });
    expectProblem(other, 415, 'request_media_type_unsupported');
  });

  it('answers 415 to a SAML form in charset=utf-7', async () => {
    const response = await server.request('POST', `${API}/sso/${randomUUID()}/saml/acs`, {
      rawBody: 'SAMLResponse=PHNhbWw%2BPC9zYW1sPg%3D%3D',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-7' },
    });
    expectProblem(response, 415, 'request_charset_unsupported');
  });
});

describe('out-of-range numbers', () => {
  it('answers 422 to a skip beyond the documented maximum on lists and audit logs', async () => {
    const token = adminTokens.access_token;
    for (const path of [`${API}/users/organization/${admin.organizationId}`, `${API}/teams/organization/${admin.organizationId}`, `${API}/audit-logs`]) {
      const response = await server.request('GET', `${path}?skip=9223372036854775808`, { token });
      expectProblem(response, 422, 'request_invalid');
      expect(response.body.errors[0].path).toBe('/query/skip');
    }
  });
});

describe('Cache-Control', () => {
  it('is no-store on every response that carries a token', async () => {
    const registered = await server.request('POST', `${API}/auth/register`, {
      body: { email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'Cy Cache', organization_name: 'Cache Co' },
    });
    const loggedIn = await server.request('POST', `${API}/auth/login`, { body: { email: admin.email, password: admin.password } });
    const refreshed = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: loggedIn.body.refresh_token } });
    const me = await server.request('GET', `${API}/auth/me`, { token: refreshed.body.access_token });
    for (const response of [registered, loggedIn, refreshed, me]) {
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('pragma')).toBe('no-cache');
    }
  });
});

describe('malformed ids, encodings and oversized requests', () => {
  it('answers 422 to a urn:uuid id, a path that is not percent-decodable and a lone surrogate', async () => {
    const token = adminTokens.access_token;
    const urn = await server.request('GET', `${API}/users/urn%3Auuid%3A${randomUUID()}`, { token });
    expectProblem(urn, 422, 'request_invalid');
    expectProblem(await server.request('GET', `${API}/teams/%E0%A4%A`, { token }), 422, 'request_path_malformed');
    const surrogate = await server.request('PUT', `${API}/users/${admin.userId}`, {
      token,
      rawBody: '{"full_name":"\\ud800x"}',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(surrogate, 422, 'request_control_characters');
    expect(surrogate.body.errors).toContainEqual({ path: '/body/full_name', message: 'must be valid Unicode' });
  });

  it('answers a 20 KB URL with a 431 problem', async () => {
    const response = await fetch(`${server.baseUrl}${API}/users/${'a'.repeat(20_000)}`);
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 431, type: 'urn:fm-auth:problem:headers-too-large' });
  });
});
