import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { REDOC_BUNDLE_FILE } from '../../package-files.js';

/** What this file reads of the contract (http/openapi.ts's ApiDocument is one; module helpers do not import http/). */
interface Contract {
  info: { title: string };
  [key: string]: unknown;
}

/** One representation as served: its bytes (or what serializes to them), and its strong ETag. */
export interface Representation<Body> {
  body: Body;
  etag: string;
}

export interface Documents<Document extends Contract> {
  json: Representation<Document>;
  yaml: Representation<string>;
  page: Representation<string> & { contentSecurityPolicy: string };
}

// Telemetry off: the page must send nothing anywhere but back to this service.
const REDOC_OPTIONS = { disableTelemetry: true };

function strongEtag(bytes: string): string {
  return `"sha256-${createHash('sha256').update(bytes).digest('base64url')}"`;
}

/** The contract as this instance serves it: its own PUBLIC_URL as the server (the paths carry API_PREFIX). */
export function servedDocument<Document extends Contract>(apiDocument: Document, publicUrl: string): Document {
  return { ...apiDocument, servers: [{ url: publicUrl, description: 'This service' }] };
}

/**
 * One self-contained page: Redoc's standalone bundle and the document in a single inline module
 * script, rendered in the browser, so it shows exactly what /openapi.json serves and needs no
 * build step. Inside a script element "</script" would end it early and "<!--" can change how it
 * parses: the document's `<` become \u003c, and the bundle's "</script" "<\/script" (as redocly's
 * own --inlineBundle does).
 */
function renderPage(document: Contract): { html: string; script: string } {
  const bundle = readFileSync(REDOC_BUNDLE_FILE, 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  const definition = JSON.stringify(document).replace(/</g, '\\u003c');
  const script = `${bundle}\ninit(${definition}, ${JSON.stringify(REDOC_OPTIONS)}, document.getElementById('redoc'));\n`;
  const title = document.info.title.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`);
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${title}</title>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<style>body { margin: 0; padding: 0; }</style>',
    '</head>',
    '<body>',
    '<div id="redoc"></div>',
    `<script type="module">${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return { html, script };
}

/**
 * The page runs only its own script (allowed by hash, so an injected one would not run), styles
 * it injects, and images and fonts inlined as data URIs; it may fetch from this service only.
 */
function contentSecurityPolicy(script: string): string {
  const scriptHash = createHash('sha256').update(script).digest('base64');
  return [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function buildDocuments<Document extends Contract>(document: Document): Documents<Document> {
  const yaml = stringify(document, { aliasDuplicateObjects: false });
  const { html, script } = renderPage(document);
  return {
    // res.json serializes with JSON.stringify as here, so the ETag names the bytes sent.
    json: { body: document, etag: strongEtag(JSON.stringify(document)) },
    yaml: { body: yaml, etag: strongEtag(yaml) },
    page: { body: html, etag: strongEtag(html), contentSecurityPolicy: contentSecurityPolicy(script) },
  };
}
