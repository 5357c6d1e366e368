import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, login, registerOrganization } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MONITORING_DIR = new URL('../../docs/monitoring/', import.meta.url).pathname;
const DOCUMENTS = ['../../MONITORING.md', 'prometheus_queries.md', 'grafana_dashboard.json', 'alert_rules.yml'];
// Anything shaped like one of the service's metric names (prefixes of the metrics it exports).
const METRIC_NAME = /\b((?:http|auth|saml|db|active|process|nodejs)_[a-z0-9_]+)(?![a-z0-9_])/g;

function promtool(args: string[]) {
  const result = spawnSync('promtool', args, { cwd: MONITORING_DIR, encoding: 'utf8' });
  expect(result.error, 'promtool must be installed (Debian package prometheus)').toBeUndefined();
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Strips the suffixes a histogram's series add to its name. */
function baseName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

describe('docs/monitoring', () => {
  it('alert rules pass promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', 'alert_rules.yml']);
    expect(output).toMatch(/SUCCESS/);
    expect(status).toBe(0);
  });

  it('every alert has a promtool unit test and all of them pass', () => {
    const { status, output } = promtool(['test', 'rules', 'alert_rules.test.yml']);
    expect(output).toMatch(/SUCCESS/);
    expect(status).toBe(0);
    const rules = readFileSync(`${MONITORING_DIR}alert_rules.yml`, 'utf8');
    const alerts = [...rules.matchAll(/^\s*- alert:\s*(\S+)/gm)].map((match) => match[1]);
    const tests = readFileSync(`${MONITORING_DIR}alert_rules.test.yml`, 'utf8');
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) expect(tests).toMatch(new RegExp(`alertname:\\s*${alert}\\b`));
  });

  it('the Grafana dashboard is valid JSON with its panels', () => {
    const dashboard = JSON.parse(readFileSync(`${MONITORING_DIR}grafana_dashboard.json`, 'utf8'));
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(7);
  });

  it('names only metrics that a real scrape exposes', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    const scrape = (await server.request('GET', '/metrics', { headers: { accept: 'text/plain' } })).text;
    const exposed = new Set(
      scrape
        .split('\n')
        .filter((line) => line.startsWith('# TYPE '))
        .map((line) => line.split(' ')[2]),
    );
    for (const document of DOCUMENTS) {
      const text = readFileSync(`${MONITORING_DIR}${document}`, 'utf8');
      const named = new Set([...text.matchAll(METRIC_NAME)].map((match) => baseName(match[1] ?? '')));
      expect(named.size, document).toBeGreaterThan(3);
      const unknown = [...named].filter((name) => !exposed.has(name));
      expect(unknown, `metrics named in ${document} but absent from /metrics`).toEqual([]);
    }
  });
});
