import { deflateSync, gzipSync } from 'node:zlib';

const FORM = 'application/x-www-form-urlencoded';

/**
 * RFC 3986 percent-encoding: encodeURIComponent leaves the reserved !'()* as they are (the
 * validator then refuses the value), and throws on lone surrogates (sent as U+FFFD, as browsers do).
 */
export function percentEncode(text: string): string {
  const wellFormed = text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return encodeURIComponent(wellFormed).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Exact decimal digits for big integers: 2^63 must go as 9223372036854775808, not 9223372036854776000. */
function scalarText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) return BigInt(value).toString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function pairs(key: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((item) => pairs(key, item));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([sub, inner]) => pairs(`${key}[${sub}]`, inner));
  return [`${percentEncode(key)}=${percentEncode(scalarText(value))}`];
}

/** Query strings and form bodies: arrays repeat the key, objects nest as key[sub], null is an empty value. */
export function formEncode(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return percentEncode(scalarText(value));
  return Object.entries(value)
    .flatMap(([key, inner]) => pairs(key, inner))
    .join('&');
}

const isJson = (mediaType: string) => mediaType === 'application/json' || mediaType.endsWith('+json');

export function serializeBody(mediaType: string, value: unknown): Buffer {
  if (isJson(mediaType)) return Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
  if (mediaType === FORM) return Buffer.from(formEncode(value), 'utf8');
  throw new Error(`The fuzzer cannot write ${mediaType} bodies yet`);
}

/** A request body as sent: its bytes and the headers that describe them. */
export interface WireBody {
  headers: Record<string, string>;
  body?: Buffer;
}

function multipart(value: unknown): Buffer {
  const fields: [string, unknown][] = value !== null && typeof value === 'object' ? Object.entries(value) : [['value', value]];
  const parts = fields.map(([name, inner]) => `--fuzz\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${scalarText(inner)}\r\n`);
  return Buffer.from(`${parts.join('')}--fuzz--\r\n`, 'utf8');
}

/** The same fields in the other media type the API uses: JSON for a form operation, a form for a JSON one. */
function otherMediaType(mediaType: string): string {
  return mediaType === FORM ? 'application/json' : FORM;
}

export type Tweak = (mediaType: string, value: unknown) => WireBody;

const as = (contentType: string | undefined, body: Buffer | string, extra: Record<string, string> = {}): WireBody => ({
  headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...extra },
  body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
});

const withEncoding =
  (encoding: string): Tweak =>
  (type, value) =>
    as(type, serializeBody(type, value), { 'content-encoding': encoding });

const text = (type: string, value: unknown) => serializeBody(type, value).toString('utf8');

/**
 * Valid content sent in ways a client should not: wrong or missing media types, charsets and
 * content codings that do not match the bytes, broken or extreme syntax, odd Accept headers.
 * Each is answered with a 4xx (or handled), never a 5xx.
 */
export const BODY_TWEAKS: Record<string, Tweak> = {
  'Content-Type: text/plain': (type, value) => as('text/plain', serializeBody(type, value)),
  'Content-Type: application/xml': () => as('application/xml', '<?xml version="1.0"?><user><email>grace@example.com</email></user>'),
  'Content-Type: multipart/form-data': (_type, value) => as('multipart/form-data; boundary=fuzz', multipart(value)),
  'fields in the other media type': (type, value) => as(otherMediaType(type), serializeBody(otherMediaType(type), value)),
  'Content-Type: application/vnd.api+json': (type, value) => as('application/vnd.api+json', serializeBody(type, value)),
  'Content-Type: malformed media type': (type, value) => as('application/json, text/plain;;', serializeBody(type, value)),
  'no Content-Type': (type, value) => as(undefined, serializeBody(type, value)),
  'charset=utf-7': (type, value) => as(`${type}; charset=utf-7`, serializeBody(type, value)),
  'charset=utf-16le, UTF-16 bytes': (type, value) => as(`${type}; charset=utf-16le`, Buffer.from(text(type, value), 'utf16le')),
  'charset=iso-8859-1, Latin-1 bytes': (type, value) => as(`${type}; charset=iso-8859-1`, Buffer.from(text(type, value), 'latin1')),
  'unknown charset': (type, value) => as(`${type}; charset=bogus-8`, serializeBody(type, value)),
  'Content-Encoding: gzip, not compressed': withEncoding('gzip'),
  'Content-Encoding: deflate, not compressed': withEncoding('deflate'),
  'Content-Encoding: br, not compressed': withEncoding('br'),
  'Content-Encoding: bogus': withEncoding('bogus'),
  'Content-Encoding: identity': withEncoding('identity'),
  'Content-Encoding: gzip, really compressed': (type, value) => as(type, gzipSync(serializeBody(type, value)), { 'content-encoding': 'gzip' }),
  'Content-Encoding: deflate, really compressed': (type, value) => as(type, deflateSync(serializeBody(type, value)), { 'content-encoding': 'deflate' }),
  'chunked transfer encoding': (type, value) => as(type, serializeBody(type, value), { 'transfer-encoding': 'chunked' }),
  'truncated body': (type, value) => {
    const bytes = serializeBody(type, value);
    return as(type, bytes.subarray(0, Math.floor(bytes.length / 2)));
  },
  'invalid UTF-8 bytes': (type, value) => as(type, Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3, 0x28]), serializeBody(type, value)])),
  'UTF-8 byte order mark': (type, value) => as(type, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), serializeBody(type, value)])),
  'empty body': (type) => as(type, ''),
  'JSON null body': (type) => as(type, 'null'),
  'JSON string body': (type) => as(type, '"text"'),
  'JSON number body': (type) => as(type, '-1e400'),
  'JSON array body': (type) => as(type, '[{}]'),
  'duplicate keys': (type, value) => {
    const body = text(type, value);
    return as(type, type === FORM ? `dup=1&dup=2&${body}` : body.replace(/^\{/, '{"__proto__":null,"dup":1,"dup":2,'));
  },
  'deeply nested JSON (5,000 levels)': (type) => as(type, `${'['.repeat(5000)}${']'.repeat(5000)}`),
  'JSON with comments and NaN': (type) => as(type, '/* comment */ {"value": NaN}'),
  'trailing garbage': (type, value) => as(type, `${text(type, value)}}garbage`),
  'oversized body (700 KB)': (type) => as(type, type === FORM ? `SAMLResponse=${'A'.repeat(700_000)}` : JSON.stringify({ padding: 'x'.repeat(700_000) })),
  'Accept: text/html': (type, value) => as(type, serializeBody(type, value), { accept: 'text/html' }),
  'Accept: application/xml only': (type, value) => as(type, serializeBody(type, value), { accept: 'application/xml' }),
  'Accept: nothing acceptable': (type, value) => as(type, serializeBody(type, value), { accept: 'image/png;q=1, */*;q=0' }),
};
