/**
 * Loopback benchmark of the hot authentication paths: starts the real service on an ephemeral
 * port over PostgreSQL (BENCH_DATABASE_URL, default a fresh database on 127.0.0.1:5432), drives
 * it with autocannon, and prints requests/s and latency percentiles. Bounded in time and count;
 * traffic goes to 127.0.0.1 only.
 *
 *   npm run bench            (about a minute)
 */
import { createServer } from 'node:http';
import autocannon from 'autocannon';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { buildContainer } from '../src/container.js';
import { listen } from '../src/http/server.js';
import { createEmptyDatabase } from '../tests/helpers/database.js';
import { TestIdentityProvider } from '../tests/helpers/saml-idp.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 20;
const SAML_RESPONSES = Number(process.env.BENCH_SAML_RESPONSES ?? 2000);
const API = '/api/v1/enterprise';
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function run(title: string, options: autocannon.Options): Promise<void> {
  const result = await autocannon({ duration: SECONDS, connections: CONNECTIONS, ...options });
  const errors = result.non2xx + result.errors + result.timeouts;
  console.log(
    `${title.padEnd(40)} ${result.requests.average.toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   p97.5 ${result.latency.p97_5} ms   p99 ${result.latency.p99} ms   errors ${errors}`,
  );
}

/** Drives the SAML assertion consumer service with distinct signed responses (each is accepted once). */
async function runSaml(accessToken: string): Promise<void> {
  const idp = new TestIdentityProvider();
  const created = await fetch(`${url}${API}/sso`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({
      organization_id: organizationId,
      provider_type: 'saml',
      provider_name: 'Bench IdP',
      saml_entity_id: idp.entityId,
      saml_sso_url: 'https://idp.bench.example/sso',
      saml_x509_cert: idp.certificate,
      auto_create_users: true,
      allow_idp_initiated: true,
    }),
  });
  const configId = ((await created.json()) as { id: string }).id;
  const acsUrl = `${url}${API}/sso/${configId}/saml/acs`;
  const sp = { entityId: `${url}${API}/sso/${configId}/saml/metadata`, acsUrl };
  const bodies = Array.from({ length: SAML_RESPONSES }, () =>
    new URLSearchParams({ SAMLResponse: idp.response(sp, { nameId: 'bench|saml-user', attributes: { email: 'saml.bench@example.com' } }) }).toString(),
  );
  let next = 0;
  await run('POST /sso/{id}/saml/acs (IdP-initiated)', {
    url: acsUrl,
    amount: SAML_RESPONSES,
    connections: Math.min(CONNECTIONS, SAML_RESPONSES),
    requests: [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, setupRequest: (request) => ({ ...request, body: bodies[next++] }) }],
  });
}

const database = await createEmptyDatabase('bench', ADMIN_URL);
// Listening first, so PUBLIC_URL (SAML audience and recipient) names the real port.
const server = createServer();
const url = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
const config = loadConfig({
  ...process.env,
  ENVIRONMENT: 'test',
  LOG_LEVEL: 'error',
  // Measures the service, not its request limits; the login throttle stays on (logins come from many clients below).
  RATE_LIMIT_ENABLED: 'false',
  TRUST_PROXY: '1',
  DATABASE_URL: database.url,
  JWT_SECRET_KEY: 'benchmark-only-signing-key-0123456789abcdef',
  PUBLIC_URL: url,
});
const container = await buildContainer(config);
await container.database.migrate();
server.on('request', createApp(container));
let organizationId = '';

try {
  const credentials = { email: `bench.${Date.now()}@example.com`, password: 'benchmark passphrase for login' };
  const json = { 'content-type': 'application/json' };
  const registered = await fetch(`${url}${API}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ ...credentials, full_name: 'Bench', organization_name: 'Bench Co' }),
  });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  const tokens = (await (await fetch(`${url}${API}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify(credentials) })).json()) as {
    access_token: string;
  };

  console.log(`fm-auth loopback benchmark: ${CONNECTIONS} connections, ${SECONDS} s each, one process, PostgreSQL ${database.url.split('@')[1]}`);
  await run('GET /health/live', { url: `${url}/health/live` });
  await run('GET /auth/me (JWT + session check)', { url: `${url}${API}/auth/me`, headers: { authorization: `Bearer ${tokens.access_token}` } });
  organizationId = ((await (await fetch(`${url}${API}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as { organization_id: string })
    .organization_id;
  await run('GET /users/organization/{id}', { url: `${url}${API}/users/organization/${organizationId}`, headers: { authorization: `Bearer ${tokens.access_token}` } });
  // One client's parallel logins to one account are capped by the throttle: each request comes from a client of its own.
  let client = 0;
  await run('POST /auth/login (argon2id verify)', {
    url: `${url}${API}/auth/login`,
    requests: [
      {
        method: 'POST',
        body: JSON.stringify(credentials),
        setupRequest: (request) => ({ ...request, headers: { ...json, 'x-forwarded-for': `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client++ & 255}` } }),
      },
    ],
  });
  await runSaml(tokens.access_token);
} finally {
  server.close();
  // autocannon drops its last requests unanswered; let their handlers finish before the pool closes.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  server.closeAllConnections();
  await container.close();
  await database.drop();
}
