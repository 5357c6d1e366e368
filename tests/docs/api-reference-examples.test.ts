import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API, login, registerOrganization } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const execFileAsync = promisify(execFile);
const reference = readFileSync(join(ROOT, 'API_REFERENCE.md'), 'utf8');

const FLOWS = ['register-login', 'token-refresh', 'organization-team-users', 'saml-sso'];

/** How each language's example runs, as the page tells a reader to run it. */
const RUNNERS: Record<string, { extension: string; command: string[] }> = {
  bash: { extension: 'sh', command: ['bash'] },
  python: { extension: 'py', command: ['python3'] },
  javascript: { extension: 'mjs', command: ['node'] },
  typescript: { extension: 'mts', command: [join(ROOT, 'node_modules/.bin/tsx')] },
};

interface Block {
  language: string;
  attributes: Record<string, string>;
  code: string;
}

/** Fenced blocks whose info string carries attributes, e.g. ```python example=register-login. */
function fencedBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w+)((?: [a-z-]+=[a-z-]+)+)\n([\s\S]*?)^```$/gm)].map((match) => ({
    language: match[1] as string,
    attributes: Object.fromEntries((match[2] as string).trim().split(' ').map((pair) => pair.split('=') as [string, string])),
    code: match[3] as string,
  }));
}

const blocks = fencedBlocks(reference);
const examples = blocks.filter((block) => block.attributes.example);
const outputs = new Map(blocks.filter((block) => block.attributes.output).map((block) => [block.attributes.output, block.code]));

/** The "Prints" block as a pattern: `<…>` stands for one value that differs per run. */
function printedPattern(expected: string): RegExp {
  const lines = expected
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/<[^>]+>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\S+'));
  return new RegExp(`^${lines.join('\n')}\n$`);
}

/** The hand-written section under `## <title>`, up to the next one. */
function section(title: string): string {
  const start = reference.indexOf(`\n## ${title}\n`);
  expect(start, `API_REFERENCE.md has no "## ${title}" section`).toBeGreaterThan(0);
  const end = reference.indexOf('\n## ', start + 1);
  return reference.slice(start, end < 0 ? undefined : end);
}

/** The JSON of the block fenced as ```json <name>. */
function jsonBlock(name: string): Record<string, unknown> {
  const code = new RegExp(`^\`\`\`json ${name}\\n([\\s\\S]*?)^\`\`\`$`, 'm').exec(reference)?.[1];
  expect(code, `API_REFERENCE.md has no \`\`\`json ${name} block`).toBeDefined();
  return JSON.parse(code!);
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

describe('API_REFERENCE.md examples', () => {
  let scratch: string;

  beforeAll(() => {
    // Inside the repository, so that the TypeScript examples resolve axios from node_modules as a reader's project would.
    scratch = mkdtempSync(join(ROOT, 'node_modules/.api-reference-examples-'));
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('has every flow in every language, and what each prints', () => {
    const found = examples.map((block) => `${block.attributes.example} in ${block.language}`).sort();
    const wanted = FLOWS.flatMap((flow) => Object.keys(RUNNERS).map((language) => `${flow} in ${language}`)).sort();
    expect(found).toEqual(wanted);
    expect([...outputs.keys()].sort()).toEqual([...FLOWS].sort());
  });

  it.each(examples.map((block) => [`${block.attributes.example} in ${block.language}`, block] as const))(
    'runs %s as written and prints what the page says',
    async (_name, block) => {
      const runner = RUNNERS[block.language];
      expect(runner, `no runner for ${block.language}`).toBeDefined();
      const file = join(scratch, `${block.attributes.example}.${runner!.extension}`);
      writeFileSync(file, block.code);
      // Asynchronous: the service answering the example runs in this very process.
      const [command, ...args] = runner!.command;
      const result = await execFileAsync(command!, [...args, file], { cwd: scratch, env: { ...process.env, BASE_URL: server.baseUrl }, timeout: 25_000 }).catch(
        (err: unknown) => err as { code: number; stdout: string; stderr: string },
      );
      expect('code' in result ? result.code : 0, result.stderr).toBe(0);
      expect(result.stdout).toMatch(printedPattern(outputs.get(block.attributes.example) ?? ''));
    },
  );
});

describe('API_REFERENCE.md hand-written sections', () => {
  const spec = parse(readFileSync(join(ROOT, 'spec/openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, { responses?: Record<string, unknown>; 'x-rate-limit'?: string }>>;
  };
  const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'put', 'delete', 'patch'].includes(method))
      .map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path.replace(API, '')}`, operation })),
  );

  it('explains every status the spec answers in the error table', () => {
    const statuses = new Set(operations.flatMap(({ operation }) => Object.keys(operation.responses ?? {}).filter((status) => status !== 'default')));
    const table = section('Error handling');
    expect([...statuses].filter((status) => !table.includes(`\n| ${status} |`))).toEqual([]);
  });

  it('names every rate-limited operation of the spec', () => {
    const text = section('Rate limiting');
    const limited = operations.filter(({ operation }) => operation['x-rate-limit'] === 'public').map(({ name }) => name);
    expect(limited.filter((name) => !text.includes(`\`${name}\``))).toEqual([]);
  });

  it('shows the claims and header a real access token carries', async () => {
    const tokens = await login(server, await registerOrganization(server));
    const [header, payload] = tokens.access_token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    const documented = jsonBlock('token-payload');
    expect(Object.keys(payload).sort()).toEqual(Object.keys(documented).sort());
    expect(header).toEqual(jsonBlock('token-header'));
    // The default lifetime (ACCESS_TOKEN_EXPIRE_MINUTES=30), as the test server runs.
    expect(payload.exp - payload.iat).toBe(Number(documented.exp) - Number(documented.iat));
    expect({ iss: payload.iss, aud: payload.aud, type: payload.type }).toEqual({ iss: documented.iss, aud: documented.aud, type: documented.type });
  });
});
