import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { withAccessSentences } from '../../src/http/openapi.js';
import { expectProblem } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

// As served: the spec with each operation's access sentence (from x-permission) in its description.
const SPEC = withAccessSentences(parse(readFileSync(new URL('../../spec/openapi.yaml', import.meta.url), 'utf8')));
const DOCUMENTS = ['/docs', '/openapi.json', '/openapi.yaml'];

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

describe('GET /openapi.json', () => {
  it('answers the spec with this service as its server', async () => {
    const response = await server.request('GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body.servers).toEqual([{ url: server.baseUrl, description: 'This service' }]);
    expect(response.body.paths).toEqual(SPEC.paths);
    expect(response.body.info).toEqual(SPEC.info);
  });

  it('moves the paths with API_PREFIX, as the service routes them', async () => {
    const prefixed = await startServer({ API_PREFIX: '/auth-api' });
    try {
      const response = await prefixed.request('GET', '/openapi.json');
      expect(Object.keys(response.body.paths)).toContain('/auth-api/enterprise/auth/login');
      expect(Object.keys(response.body.paths)).not.toContain('/api/v1/enterprise/auth/login');
    } finally {
      await prefixed.close();
    }
  });
});

describe('GET /openapi.yaml', () => {
  it('answers the same document as YAML', async () => {
    const [yaml, json] = await Promise.all([server.request('GET', '/openapi.yaml'), server.request('GET', '/openapi.json')]);
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parse(yaml.text)).toEqual(json.body);
  });
});

describe('GET /docs', () => {
  it('answers one HTML page that loads nothing from elsewhere and runs only its own script', async () => {
    const response = await server.request('GET', '/docs', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    // No element may fetch a URL: everything is inline.
    expect(response.text).not.toMatch(/<(script|link|img|iframe)\b[^>]*\b(src|href)=/i);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
  });
});

describe.each(DOCUMENTS)('GET %s caching', (path) => {
  it('may be cached, and answers 304 to If-None-Match with its ETag', async () => {
    const first = await server.request('GET', path);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    expect(first.headers.get('pragma')).toBeNull();
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"sha256-[A-Za-z0-9_-]{43}"$/);

    // As a browser revalidates: fetch() would otherwise add Cache-Control: no-cache to a
    // conditional request, which asks for a full answer (RFC 9111 §5.2.1.4).
    const revalidate = { 'cache-control': 'max-age=0' };
    const again = await server.request('GET', path, { headers: { 'if-none-match': etag!, ...revalidate } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('etag')).toBe(etag);

    const stale = await server.request('GET', path, { headers: { 'if-none-match': '"sha256-an-older-copy"', ...revalidate } });
    expect(stale.status).toBe(200);
    expect(stale.text).toBe(first.text);
  });
});

describe('DOCS_ENABLED=false', () => {
  let closed: TestServer;
  beforeAll(async () => {
    closed = await startServer({ DOCS_ENABLED: 'false' });
  });
  afterAll(async () => {
    await closed.close();
  });

  it.each(DOCUMENTS)('answers 404 problem+json at %s, not cached', async (path) => {
    const response = await closed.request('GET', path);
    expectProblem(response, 404, 'documentation_disabled');
    expect(response.body.type).toBe('urn:fm-auth:problem:not-found');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('is refused at start-up when not a boolean', () => {
    expect(() => loadConfig({ DOCS_ENABLED: 'sometimes' })).toThrow(ConfigError);
  });
});
