import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { SUITE_WIDE_LIMITS } from './server.js';

/** `npm start` minus npm: the source through tsx, which takes seconds to start on a loaded machine. */
export const NPM_START_ARGS = ['--import', 'tsx', 'src/main.ts'];

const STARTUP_TIMEOUT_MS = 20_000;

export interface ServiceProcess {
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  signal(name: NodeJS.Signals): void;
}

/**
 * Runs the service as the image does (`node dist/main.js`, from the run's build: tests/setup/build.ts)
 * or with `args` (e.g. NPM_START_ARGS), and waits for its "listening" line.
 */
export function spawnService(
  env: Record<string, string | undefined>,
  options: { cwd?: string; args?: string[]; /** Hears the whole output so far at every new line, before the service listens too. */ onOutput?: (output: string) => void } = {},
): Promise<ServiceProcess> {
  // A variable given as undefined is left out, also when this process has it.
  const merged: Record<string, string | undefined> = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...SUITE_WIDE_LIMITS, ...env };
  const childEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  const child = spawn(process.execPath, options.args ?? [join(inject('appDirectory'), 'dist/main.js')], { env: childEnv, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    // A service that never says it listens must not outlive the test that started it.
    const startup = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not report listening within ${STARTUP_TIMEOUT_MS} ms:\n${output}`));
    }, STARTUP_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      options.onOutput?.(output);
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(startup);
        resolve({
          baseUrl: `http://127.0.0.1:${match[1]}`,
          output: () => output,
          exited,
          signal: (name) => child.kill(name),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(startup);
      reject(new Error(`service exited with ${code} before listening:\n${output}`));
    });
  });
}

/** Waits (up to 10 s) for a line of the service's output to match; answers the match. */
export async function waitForOutput(service: ServiceProcess, pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const match = pattern.exec(service.output());
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no output line matched ${pattern}:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
