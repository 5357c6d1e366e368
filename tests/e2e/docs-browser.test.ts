import { mkdirSync, readFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As in saml-browser.test.ts: without the background-networking flags Chromium itself keeps
// trying to reach Google's hosts, which would count as the page's requests below.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = 'test-output/docs.png';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Operation {
  summary: string;
  tags?: string[];
}
const spec = parse(readFileSync(new URL('../../spec/openapi.yaml', import.meta.url), 'utf8')) as {
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
};
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);
const operations = Object.values(spec.paths).flatMap((item) => Object.entries(item).flatMap(([method, operation]) => (METHODS.has(method) ? [operation] : [])));
const summaries = operations.map((operation) => operation.summary);

let service: TestServer;
let browser: Browser;
beforeAll(async () => {
  service = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
});

describe('GET /docs in a real browser (headless Chromium)', () => {
  it('renders every operation of the spec without reaching any host but the service', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // Every request that would go out on the network passes here (the page's CSP stops some
    // before that: those never left). Hosts other than loopback are recorded and refused.
    const leftTheMachine: string[] = [];
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOOPBACK.has(url.hostname)) return route.continue();
      leftTheMachine.push(url.href);
      return route.abort();
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(`${service.baseUrl}/docs`);
    // Rendered: the overview lists each tag's operations.
    await page.getByText('Operations').first().waitFor({ timeout: 15_000 });

    // The navigation lists a tag's operations by summary once the tag is opened (one at a time).
    const menu = page.locator('[data-component-name="Menu/Menu"]').first();
    const seen = new Set<string>();
    for (const tag of spec.tags.map(({ name }) => name)) {
      await menu
        .locator('[data-component-name="Menu/MenuItem"]', { hasText: new RegExp(`^${tag}$`) })
        .first()
        .click();
      // The tag opens as it renders: wait for its first operation before reading the menu.
      const first = operations.find((operation) => operation.tags?.includes(tag));
      if (first) await menu.getByText(first.summary, { exact: true }).first().waitFor({ timeout: 15_000 });
      for (const line of (await menu.innerText()).split('\n')) seen.add(line.trim());
    }

    expect(summaries.filter((summary) => !seen.has(summary))).toEqual([]);
    expect(leftTheMachine).toEqual([]);
    expect(errors).toEqual([]);
    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
