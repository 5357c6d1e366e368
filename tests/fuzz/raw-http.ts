import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';

/** A request exactly as it goes on the wire. */
export interface FuzzRequest {
  method: string;
  /** Path and query, already percent-encoded: sent byte for byte. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** How to show the Authorization header in a reproduction (tokens are not worth printing). */
  credentialNote?: string;
}

export interface RawResponse {
  /** 0 when no response came (connection reset, timeout). */
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  error?: string;
}

const TIMEOUT_MS = 30_000;

/**
 * node:http rather than fetch: fetch normalizes paths, refuses bodies on GET and sets
 * Content-Length itself, and the fuzzer needs each of those under its control.
 */
export class RawHttpClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(baseUrl: string, maxSockets: number) {
    this.url = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  send(request: FuzzRequest): Promise<RawResponse> {
    const headers = { ...request.headers };
    if (request.body && headers['transfer-encoding'] === undefined) headers['content-length'] = String(request.body.length);
    return new Promise((resolve) => {
      const failed = (error: Error) => resolve({ status: 0, headers: {}, text: '', error: error.message });
      try {
        const outgoing = httpRequest(
          { host: this.url.hostname, port: this.url.port, method: request.method, path: request.path, headers, agent: this.agent, timeout: TIMEOUT_MS },
          (incoming) => {
            const chunks: Buffer[] = [];
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
            incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text: Buffer.concat(chunks).toString('utf8') }));
            incoming.on('error', failed);
          },
        );
        outgoing.on('timeout', () => outgoing.destroy(new Error(`no response within ${TIMEOUT_MS} ms`)));
        outgoing.on('error', failed);
        outgoing.end(request.body);
      } catch (error) {
        // node:http refuses some paths and header values outright: a bug of the fuzzer, reported as such.
        failed(error as Error);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const PRINTABLE = /^[\x20-\x7e]*$/;
const LONGEST_SHOWN = 300;

/** Shell quoting that keeps any byte: '…' for printable ASCII, $'…' with \xHH escapes otherwise. */
function quote(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  if (PRINTABLE.test(text)) return `'${text.replace(/'/g, `'\\''`)}'`;
  const escape = (byte: number) => (byte >= 0x20 && byte <= 0x7e && byte !== 0x27 && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`);
  return `$'${[...bytes].map(escape).join('')}'`;
}

/** Long bodies and paths are cut, with their size: the shape of the request is what a reader needs. */
function shortened(bytes: Buffer): Buffer {
  if (bytes.length <= LONGEST_SHOWN) return bytes;
  return Buffer.concat([bytes.subarray(0, LONGEST_SHOWN), Buffer.from(`...[${bytes.length} bytes in all]`, 'latin1')]);
}

/** A curl command for the request; request ids are left out, tokens shown as placeholders. */
export function curlOf(baseUrl: string, request: FuzzRequest): string {
  // Paths are ASCII once percent-encoded, and header values travel as Latin-1.
  const words = ['curl -i -X', request.method, quote(shortened(Buffer.from(baseUrl + request.path, 'latin1')))];
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === 'x-request-id') continue;
    const shown = name === 'authorization' ? (request.credentialNote ?? value) : value;
    words.push('-H', quote(Buffer.from(`${name}: ${shown}`, 'latin1')));
  }
  if (request.body) words.push('--data-binary', quote(shortened(request.body)));
  return words.join(' ');
}
