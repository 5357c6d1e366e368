import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** For tests that start the CLI: each start takes a second or more on a loaded machine. */
export const CLI_TEST_TIMEOUT_MS = 120_000;

export interface CommandResult {
  /** The exit code; null when a signal ended the command. */
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's standard input, which is then closed. */
  input?: string;
}

/**
 * Runs a command without blocking the test process: a synchronous child (spawnSync) freezes the
 * event loop, so the servers a test file runs stop answering and their clients see ECONNRESET.
 */
export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A command that exits without reading its input closes the pipe under us: not our failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * The admin CLI against the run's test database, as the image runs it (`node dist/cli/admin.js`)
 * from the run's build (tests/setup/build.ts): tsx compiling the source would cost seconds a start.
 */
export function runAdminCli(databaseUrl: string, args: string[], input = '', appDirectory = inject('appDirectory')): Promise<CommandResult> {
  return runCommand(process.execPath, [join(appDirectory, 'dist/cli/admin.js'), ...args], {
    input,
    env: { ...process.env, DATABASE_URL: databaseUrl, ENVIRONMENT: 'test', JWT_SECRET_KEY: 'unused-by-the-cli-but-required-0123456789' },
  });
}
