import { inspect as utilInspect } from 'node:util';
import { runCommand, type CommandResult } from '../helpers/commands.js';

/**
 * podman and docker-compose as the container tests drive them: compose through podman's Docker API
 * socket (on our machines `eval "$(../shared/containers/setup.sh socket)"` starts it).
 */
export const DOCKER_HOST = process.env.DOCKER_HOST ?? 'unix:///run/podman/podman.sock';
/**
 * Names every container, network, volume and compose project a run makes, so cleanup finds them.
 * Set by the global set-up's process, inherited by the test workers it starts.
 */
export const RUN_ID = (process.env.FM_AUTH_CONTAINER_RUN ??= `fmct${process.pid}`);
export const IMAGE = `localhost/fm-auth:${RUN_ID}`;

const environment = { ...process.env, DOCKER_HOST, BUILDAH_FORMAT: 'docker' };

async function checked(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string }): Promise<string> {
  const result = await runCommand(command, args, { env: { ...environment, ...options.env }, input: options.input, cwd: options.cwd });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr.slice(-4000)}`);
  return result.stdout.trim();
}

export const podman = (args: string[], input?: string) => checked('podman', args, { input });
export const podmanResult = (args: string[]): Promise<CommandResult> => runCommand('podman', args, { env: environment });

export interface ComposeProject {
  name: string;
  file: string;
  /** Variables compose substitutes into the file (FM_AUTH_IMAGE, ports). */
  env: NodeJS.ProcessEnv;
  /** Where `--env-file` points: the `.env` mechanism, without reading a developer's own .env. */
  envFile: string;
}

export function compose(project: ComposeProject, args: string[]): Promise<string> {
  return checked('docker-compose', ['--env-file', project.envFile, '-p', project.name, '-f', project.file, ...args], { env: project.env });
}

/** The ids of a compose project's containers by service name. */
export async function serviceContainers(projectName: string): Promise<Record<string, string>> {
  const lines = await podman(['ps', '-a', '--filter', `label=com.docker.compose.project=${projectName}`, '--format', '{{.ID}} {{index .Labels "com.docker.compose.service"}}']);
  return Object.fromEntries(
    lines
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ').reverse() as [string, string]),
  );
}

export async function inspect<T>(id: string, format: string): Promise<T> {
  return JSON.parse(await podman(['inspect', id, '--format', `{{json ${format}}}`])) as T;
}

export async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : utilInspect(last)}` : ''}`);
}

/** Resolves once every container has passed its health check. */
export function allHealthy(ids: string[]): Promise<true> {
  return eventually(`${ids.length} containers to be healthy`, async () => {
    const states = await Promise.all(ids.map((id) => inspect<string>(id, '.State.Health.Status')));
    return states.every((state) => state === 'healthy') ? true : undefined;
  });
}

/** Removes whatever this run made, by name, whether or not its tests passed. */
export async function removeEverything(): Promise<void> {
  for (const kind of ['container', 'network', 'volume'] as const) {
    const names = (
      await podmanResult([kind, 'ls', '-a', '--format', kind === 'container' ? '{{.Names}}' : '{{.Name}}'].filter((arg) => kind === 'container' || arg !== '-a'))
    ).stdout
      .split('\n')
      .filter((name) => name.startsWith(RUN_ID));
    if (names.length > 0) await podmanResult([kind, 'rm', '-f', ...names]);
  }
}

/** A JSON request to the API of a service the test started. */
export async function callApi(baseUrl: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${baseUrl}/api/v1/enterprise${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
