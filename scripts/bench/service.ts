/** The service under benchmark: built apart from dist/, started as a child process, reached over HTTP. */
import { type ChildProcess, spawn } from 'node:child_process';

export const JWT_SECRET = 'benchmark-only-signing-key-0123456789abcdef';
export const API = '/api/v1/enterprise';
export const PASSWORD = 'benchmark passphrase for login';
// A function, not a shared object: autocannon writes each request's content-length into the headers it is given.
export const jsonHeaders = () => ({ 'content-type': 'application/json' });

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

export interface Credentials {
  email: string;
  password: string;
}

/** How the benchmark runs the built service: production logging, rate limits and the retention job off. */
export function serviceEnvironment(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  const url = `http://127.0.0.1:${port}`;
  return {
    NODE_ENV: 'production',
    ENVIRONMENT: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET_KEY: JWT_SECRET,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: url,
    RATE_LIMIT_ENABLED: 'false',
    TRUST_PROXY: '1',
    RETENTION_INTERVAL_SECONDS: '0',
  };
}

/** Starts a process and answers it with the seconds until `ready()` first holds. */
export async function startTimed(command: string, args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<boolean>): Promise<{ child: ChildProcess; seconds: number }> {
  const started = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', process.env.BENCH_SERVICE_LOG ? 'inherit' : 'ignore', 'inherit'] });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`))));
  for (;;) {
    if (await Promise.race([ready().catch(() => false), exited])) return { child, seconds: (performance.now() - started) / 1000 };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export const isReady = (url: string) => async () => (await fetch(`${url}/health/ready`)).status === 200;

export async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { ...jsonHeaders(), ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export const login = (url: string, credentials: Credentials) => post<Tokens>(`${url}${API}/auth/login`, credentials);
