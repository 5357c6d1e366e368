import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mermaidBlocksIn, trackedMarkdownFiles } from '../helpers/mermaid-blocks.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As tests/e2e/saml-browser.test.ts: without the background-networking flags Chromium keeps
// trying to reach Google's hosts, which this network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The self-contained browser build: it defines the global `mermaid` and loads nothing else.
const MERMAID_BUNDLE = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

const blocks = trackedMarkdownFiles().flatMap(mermaidBlocksIn);

interface Rendering {
  error?: string;
  svg?: string;
}

declare const mermaid: {
  initialize(config: Record<string, unknown>): void;
  render(id: string, text: string): Promise<{ svg: string }>;
};

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ path: MERMAID_BUNDLE });
  // Errors are thrown to us, not drawn into the page as a "syntax error" picture.
  await page.evaluate(() => mermaid.initialize({ startOnLoad: false, suppressErrorRendering: true }));
});
afterAll(async () => {
  await browser?.close();
});

describe('Mermaid diagrams in the Markdown files', () => {
  it('finds the diagrams (a broken file listing must not pass as "nothing to render")', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks.map((block, index) => ({ ...block, index })))('$file:$line renders', async ({ source, index }) => {
    const rendering: Rendering = await page.evaluate(
      async ({ id, text }) => {
        try {
          return { svg: (await mermaid.render(id, text)).svg };
        } catch (err) {
          return { error: err instanceof Error ? err.message : String(err) };
        }
      },
      { id: `diagram-${index}`, text: source },
    );
    expect(rendering.error).toBeUndefined();
    expect(rendering.svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});
