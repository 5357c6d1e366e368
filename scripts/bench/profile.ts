/**
 * Where a request's CPU goes: a V8 CPU profile of the service (`node --cpu-prof`), its samples
 * within the measured window, each attributed to the package or source file its function comes
 * from (the bundle keeps esbuild's `// node_modules/<package>/…` and `// src/…` markers), then
 * grouped into the layers a request passes through.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The layers, each named by the packages, Node internals and files it covers (the first match wins). */
const LAYERS: [string, RegExp][] = [
  ['JWT (jose, WebCrypto)', /^(jose|node:internal\/crypto)/],
  ['validation (express-openapi-validator, ajv)', /^(express-openapi-validator|ajv|ajv-formats|fast-uri|json-schema-traverse|media-typer|content-type)$/],
  ['database (drizzle-orm, postgres.js)', /^(drizzle-orm|postgres)$|^src\/db\//],
  [
    'logging (winston)',
    /^(winston|winston-transport|logform|triple-beam|@colors\/colors|safe-stable-stringify|fecha|readable-stream)$|^src\/observability\/logger|^native writeBuffer$|^native RegExp: \(\[A-Za-z0-9\._%\+-\]\)/,
  ],
  ['metrics (prom-client)', /^(prom-client|tdigest|bintrees)$|^src\/observability\/metrics/],
  [
    'Express, routing, body parsing',
    /^(express|router|body-parser|raw-body|parseurl|path-to-regexp|finalhandler|send|qs|type-is|accepts|negotiator|mime-types|on-finished|encodeurl|escape-html|etag|fresh|range-parser|proxy-addr|forwarded|vary|depd|statuses|http-errors|iconv-lite|cookie|cookie-signature|content-disposition|merge-descriptors|utils-merge|methods|setprototypeof|inherits|ee-first|unpipe|debug|ms)$/,
  ],
  ['helmet, CORS', /^(helmet|cors|object-assign)$/],
  ['our handlers and middleware', /^src\//],
  ['Node HTTP, sockets, streams', /^(node:_http|node:net|node:internal\/(streams|stream_base_commons|http|buffer)|node:events|node:buffer|native writev)/],
  ['promises, async context, timers', /^(node:internal\/(async_hooks|process|timers)|node:async_hooks|node:timers|native runMicrotasks)/],
  ['garbage collection', /^\(garbage collector\)$/],
];

/** Line → module marker of one bundle file, read once. */
const markers = new Map<string, [number, string][]>();

function markersOf(url: string): [number, string][] {
  let found = markers.get(url);
  if (!found) {
    found = [];
    readFileSync(new URL(url), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        const marker = /^\/\/ ((?:node_modules|src)\/\S+)$/.exec(line)?.[1];
        if (marker) found?.push([index, marker]);
      });
    markers.set(url, found);
  }
  return found;
}

/** The package (`jose`), Node internal module (`node:_http_server`), source file or native function a frame runs in. */
function originOf(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : `native ${frame.functionName}`;
  if (frame.url.startsWith('node:')) return frame.url;
  if (!frame.url.startsWith('file:')) return 'other';
  let module = 'other';
  for (const [line, marker] of markersOf(frame.url)) {
    if (line > frame.lineNumber) break;
    module = marker;
  }
  return /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module)?.[1] ?? module;
}

const layerOf = (origin: string) => LAYERS.find(([, pattern]) => pattern.test(origin))?.[0] ?? 'other';

export interface LayerCost {
  layer: string;
  microsecondsPerRequest: number;
  share: number;
}

/**
 * The CPU of the profile's samples between `fromUs` and `toUs` (the monotonic clock in µs, as
 * `process.hrtime` reads it and V8 stamps samples), per layer, divided by `requests`.
 */
export function layerCosts(profileDirectory: string, window: { fromUs: number; toUs: number }, requests: number): LayerCost[] {
  const file = readdirSync(profileDirectory).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile in ${profileDirectory}`);
  const profile = JSON.parse(readFileSync(join(profileDirectory, file), 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map<string, number>();
  let at = profile.startTime;
  let busy = 0;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    const frame = frames.get(id);
    if (!frame || at < window.fromUs || at > window.toUs || frame.functionName === '(idle)') return;
    const delta = profile.timeDeltas[index + 1] ?? 0;
    const layer = layerOf(originOf(frame));
    totals.set(layer, (totals.get(layer) ?? 0) + delta);
    busy += delta;
  });
  return [...totals]
    .map(([layer, microseconds]) => ({ layer, microsecondsPerRequest: microseconds / requests, share: microseconds / (busy || 1) }))
    .sort((a, b) => b.microsecondsPerRequest - a.microsecondsPerRequest);
}

export const monotonicMicroseconds = () => Number(process.hrtime.bigint() / 1000n);
