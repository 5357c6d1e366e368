import { curlOf, type FuzzRequest, type RawResponse } from './raw-http.js';
import type { Family, FuzzCase } from './request-cases.js';

const CLASSES = ['2xx', '3xx', '4xx', '5xx', 'none'] as const;
type Counts = Record<(typeof CLASSES)[number], number>;

function classOf(status: number): keyof Counts {
  return status === 0 ? 'none' : (`${Math.floor(status / 100)}xx` as keyof Counts);
}

function problemDetail(response: RawResponse): unknown {
  try {
    return (JSON.parse(response.text) as { detail?: unknown }).detail;
  } catch {
    return undefined;
  }
}

/** Why a response breaks the contract (no 5xx; every 4xx a problem+json with a string detail), or undefined. */
export function breachOf(response: RawResponse): string | undefined {
  if (response.status === 0) return `no response: ${response.error}`;
  if (response.status >= 500) return `a ${response.status}`;
  if (response.status < 400) return undefined;
  const contentType = response.headers['content-type'] ?? '';
  if (!contentType.startsWith('application/problem+json')) return `a ${response.status} that is not problem+json (${contentType || 'no Content-Type'})`;
  if (typeof problemDetail(response) !== 'string') return `a ${response.status} problem whose detail is not a string`;
  if (response.status === 401 && !(response.headers['www-authenticate'] ?? '').startsWith('Bearer')) return 'a 401 without a Bearer challenge';
  return undefined;
}

/**
 * One distinct failure: an operation, a status, a detail and the case label that caused it, with
 * how often it happened and the shortest request that showed it.
 */
interface Failure {
  operationId: string;
  status: number;
  detail: string;
  label: string;
  family: Family;
  breach: string;
  count: number;
  curl: string;
  requestId: string;
}

function table(title: string, rows: [string, Counts][]): string {
  const width = Math.max(title.length, ...rows.map(([name]) => name.length));
  const line = (name: string, cells: string[]) => `${name.padEnd(width)}  ${cells.map((cell) => cell.padStart(6)).join(' ')}`;
  const body = rows.map(([name, counts]) => line(name, [...CLASSES.map((key) => String(counts[key])), String(CLASSES.reduce((sum, key) => sum + counts[key], 0))]));
  return [line(title, [...CLASSES, 'total']), ...body].join('\n');
}

/** Counts responses by status, family and operation, and keeps every contract breach, deduplicated. */
export class FuzzTally {
  total = 0;
  private readonly statuses = new Map<number, number>();
  private readonly families = new Map<string, Counts>();
  private readonly operations = new Map<string, Counts>();
  private readonly failures = new Map<string, Failure>();

  constructor(private readonly baseUrl: string) {}

  record(fuzzCase: FuzzCase, request: FuzzRequest, response: RawResponse): void {
    this.total += 1;
    this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
    for (const [map, key] of [
      [this.families, fuzzCase.family],
      [this.operations, fuzzCase.operationId],
    ] as const) {
      const counts = map.get(key) ?? { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
      counts[classOf(response.status)] += 1;
      map.set(key, counts);
    }
    const breach = breachOf(response);
    if (breach !== undefined) this.keepFailure(fuzzCase, request, response, breach);
  }

  private keepFailure(fuzzCase: FuzzCase, request: FuzzRequest, response: RawResponse, breach: string): void {
    const detail = problemDetail(response);
    const shown = typeof detail === 'string' ? detail : response.text.slice(0, 120);
    const key = JSON.stringify([fuzzCase.operationId, response.status, shown, fuzzCase.label]);
    const curl = curlOf(this.baseUrl, request);
    const requestId = request.headers['x-request-id'] ?? '';
    const known = this.failures.get(key);
    if (!known) {
      const { operationId, label, family } = fuzzCase;
      this.failures.set(key, { operationId, status: response.status, detail: shown, label, family, breach, count: 1, curl, requestId });
      return;
    }
    known.count += 1;
    if (curl.length < known.curl.length) Object.assign(known, { curl, requestId });
  }

  get failureCount(): number {
    return [...this.failures.values()].reduce((sum, failure) => sum + failure.count, 0);
  }

  summary(): string {
    const statusLines = [...this.statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `  ${String(status || 'none').padEnd(5)} ${String(count).padStart(6)}  ${((100 * count) / this.total).toFixed(1).padStart(5)}%`);
    const byName = (map: Map<string, Counts>) => [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
    return [`Responses by status (${this.total} requests):`, ...statusLines, '', table('family', byName(this.families)), '', table('operation', byName(this.operations))].join(
      '\n',
    );
  }

  /**
   * Every distinct failure (operation, status, detail, trigger), shown by cause: the failures with
   * the same status, detail and trigger are one entry naming their operations, with the shortest
   * reproduction among them and what the server logged for it.
   */
  failureReport(loggedErrors: Map<string, string>): string {
    const causes = new Map<string, Failure[]>();
    for (const failure of this.failures.values()) {
      const cause = JSON.stringify([failure.status, failure.detail, failure.label]);
      causes.set(cause, [...(causes.get(cause) ?? []), failure]);
    }
    const lines = [`${this.failureCount} failing requests: ${this.failures.size} distinct failures (operation, status, detail, trigger) from ${causes.size} causes.`];
    const sorted = [...causes.values()].sort((a, b) => (a[0] as Failure).label.localeCompare((b[0] as Failure).label));
    for (const failures of sorted) {
      const first = failures[0] as Failure;
      const shortest = failures.reduce((best, failure) => (failure.curl.length < best.curl.length ? failure : best));
      const logged = loggedErrors.get(shortest.requestId);
      const count = failures.reduce((sum, failure) => sum + failure.count, 0);
      lines.push('', `[${first.family}] ${first.label} → ${first.breach} ${JSON.stringify(first.detail)} ×${count}`);
      lines.push(`  operations: ${[...new Set(failures.map((failure) => failure.operationId))].sort().join(', ')}`);
      if (logged) lines.push(`  server logged: ${logged}`);
      lines.push(`  ${shortest.curl}`);
    }
    return lines.join('\n');
  }
}

/** The error each failed request logged, by request id (the service logs JSON lines stamped with it). */
export function loggedErrors(logs: string): Map<string, string> {
  const errors = new Map<string, string>();
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { level?: string; request_id?: string; message?: string; error?: { message?: string } };
    if (entry.level === 'error' && entry.request_id) errors.set(entry.request_id, (entry.error?.message ?? entry.message ?? '').slice(0, 200));
  }
  return errors;
}
