import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';

// Linux's clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK); 100 on every Linux we run).
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds a process has used so far (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU seconds used so far by every PostgreSQL server process on this machine, or only by the
 * backends connected to `database` (whose process title names it: "postgres: 15/main: user
 * database client state"), which leaves out whatever else shares the server.
 */
export function postgresCpuSeconds(database?: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes(' (postgres) ')) continue;
      if (
        database &&
        !readFileSync(`/proc/${entry}/cmdline`, 'utf8')
          .split(/[\s\0]/)
          .includes(database)
      )
        continue;
      total += cpuSeconds(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

/** Resident and peak resident memory of a process, in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export function directoryBytes(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.size;
  return readdirSync(path).reduce((sum, entry) => sum + directoryBytes(join(path, entry)), 0);
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  requests: number;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number;
}

/** Runs autocannon; latency percentiles from every response's own time (autocannon reports no p95). */
export function drive(options: autocannon.Options): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    const instance = autocannon(options, (error, result) => {
      if (error) {
        reject(error as Error);
        return;
      }
      times.sort((a, b) => a - b);
      resolve({
        requestsPerSecond: result.requests.total / (result.duration || 1),
        p50: percentile(times, 0.5),
        p95: percentile(times, 0.95),
        p99: percentile(times, 0.99),
        errors: result.non2xx + result.errors + result.timeouts,
        requests: result.requests.total,
      });
    });
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
}

export interface Row extends LoadResult {
  scenario: string;
  requestsPerServiceCpuSecond: number;
  serviceCpuSeconds: number;
  databaseCpuSeconds: number;
  rssMb: number;
}

/** One scenario: its load, the CPU the service and PostgreSQL spent on it, the service's memory after. */
export function measurer(pid: number, defaults: { seconds: number; requests?: number; connections: number; database?: string }) {
  return async (scenario: string, options: autocannon.Options, target = pid): Promise<Row> => {
    const [serviceBefore, databaseBefore] = [cpuSeconds(target), postgresCpuSeconds(defaults.database)];
    const length = options.amount ? {} : defaults.requests ? { amount: defaults.requests } : { duration: defaults.seconds };
    const load = await drive({ ...length, connections: defaults.connections, ...options });
    const serviceCpu = cpuSeconds(target) - serviceBefore;
    return {
      scenario,
      ...load,
      serviceCpuSeconds: serviceCpu,
      requestsPerServiceCpuSecond: load.requests / (serviceCpu || 1),
      // PostgreSQL backends that exit during a scenario take their CPU time with them: a floor, not a sum.
      databaseCpuSeconds: Math.max(0, postgresCpuSeconds(defaults.database) - databaseBefore),
      rssMb: memoryMb(target).rss,
    };
  };
}

export type Measure = ReturnType<typeof measurer>;
