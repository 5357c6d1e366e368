import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { constraintsOf, describeType, exampleOf, fieldTable, type Schema, SchemaResolver } from './api-reference-schema.js';

/**
 * The endpoint reference of API_REFERENCE.md, written from the spec between two markers so that
 * the hand-written sections around it stay as they are and `check:generated` catches drift.
 */

export const BEGIN_MARKER = '<!-- BEGIN GENERATED: endpoints (npm run generate writes this from spec/openapi.yaml; do not edit) -->';
export const END_MARKER = '<!-- END GENERATED -->';

const API_BASE = '/api/v1/enterprise';
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;
// Granted to no role (product contract): only the platform super-admin flag carries them.

interface Parameter {
  $ref?: string;
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema: Schema;
  example?: unknown;
}

interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { $ref?: string; value?: unknown }>;
}

interface Response {
  $ref?: string;
  description: string;
  headers?: Record<string, { $ref?: string; description?: string }>;
  content?: Record<string, MediaType>;
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, Response>;
  'x-rate-limit'?: string;
  'x-permission'?: string;
  'x-platform'?: boolean;
}

interface ProblemCodeEntry {
  const: string;
  'x-status': number;
  description: string;
}

interface Spec {
  tags: { name: string; description: string }[];
  components: { schemas: { ProblemCode?: { oneOf: ProblemCodeEntry[] } } };
  paths: Record<string, Record<string, unknown> & { parameters?: Parameter[] }>;
}

interface Entry {
  method: string;
  path: string;
  operation: Operation;
  parameters: Parameter[];
}

interface Access {
  authentication: 'public' | 'bearer' | 'platform';
  permission: string | null;
}

/** Who may call, from the spec's `x-permission` and `x-platform`: what the router enforces. */
export function accessOf(operation: Operation): Access {
  if (operation.security?.length === 0) return { authentication: 'public', permission: null };
  const declared = operation['x-permission'];
  const permission = declared === undefined || declared === 'none' ? null : declared;
  return { authentication: operation['x-platform'] ? 'platform' : 'bearer', permission };
}

function displayPath(path: string): string {
  return path.startsWith(`${API_BASE}/`) ? path.slice(API_BASE.length) : path;
}

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function who(access: Access): string {
  if (access.authentication === 'public') return 'public';
  if (access.authentication === 'platform') return 'platform super-admin';
  return 'bearer';
}

function permissionText(access: Access): string {
  if (access.permission) return `\`${access.permission}\``;
  if (access.authentication === 'platform') return 'platform super-admin';
  return access.authentication === 'public' ? 'none' : 'none (any signed-in user)';
}

function mediaExample(resolver: SchemaResolver, media: MediaType): unknown {
  if (media.example !== undefined) return media.example;
  const first = Object.values(media.examples ?? {})[0];
  if (first) return (resolver.resolve(first) as { value: unknown }).value;
  return media.schema ? exampleOf(resolver, media.schema) : undefined;
}

function codeBlock(mediaType: string, example: unknown, pretty = true): string {
  if (typeof example === 'string') return `\`\`\`${mediaType.includes('xml') ? 'xml' : 'text'}\n${example.trimEnd()}\n\`\`\``;
  return `\`\`\`json\n${JSON.stringify(example, null, pretty ? 2 : undefined)}\n\`\`\``;
}

function curlCommand(resolver: SchemaResolver, entry: Entry, access: Access): string {
  const url = entry.path.replace(/\{([a-z_]+)\}/g, (_match, name: string) => `$${name.toUpperCase()}`);
  const redirects = Object.keys(entry.operation.responses)[0] === '302';
  const query = entry.parameters.filter((parameter) => parameter.in === 'query' && parameter.required);
  const lines = [`curl -sS${query.length > 0 ? ' -G' : ''}${redirects ? ' -i' : ''}${entry.method === 'get' ? '' : ` -X ${entry.method.toUpperCase()}`} "$BASE_URL${url}"`];
  for (const parameter of query) {
    lines.push(`--data-urlencode ${shellQuote(`${parameter.name}=${String(parameter.example ?? exampleOf(resolver, parameter.schema))}`)}`);
  }
  if (access.authentication !== 'public') lines.push('-H "Authorization: Bearer $ACCESS_TOKEN"');
  const [mediaType, media] = Object.entries(entry.operation.requestBody?.content ?? {})[0] ?? [];
  if (mediaType === 'application/json' && media) {
    lines.push(`-H 'Content-Type: application/json'`, `-d ${shellQuote(JSON.stringify(mediaExample(resolver, media)))}`);
  } else if (mediaType && media) {
    const fields = Object.entries(mediaExample(resolver, media) as Record<string, unknown>);
    lines.push(...fields.map(([name, value]) => `--data-urlencode ${shellQuote(`${name}=${String(value)}`)}`));
  }
  return `\`\`\`sh\n${lines.join(' \\\n  ')}\n\`\`\``;
}

function parameterTable(resolver: SchemaResolver, parameters: Parameter[]): string[] {
  if (parameters.length === 0) return [];
  const rows = parameters.map((parameter) => {
    const schema = resolver.resolve(parameter.schema);
    const text = [constraintsOf(resolver, schema), parameter.description ?? schema.description].filter(Boolean).join('. ');
    return `| \`${parameter.name}\` | ${parameter.in} | ${cell(describeType(resolver, schema))} | ${parameter.required ? 'yes' : 'no'} | ${cell(text)} |`;
  });
  return ['**Parameters**', '', '| name | in | type | required | rules and meaning |', '| --- | --- | --- | --- | --- |', ...rows, ''];
}

function requestSection(resolver: SchemaResolver, operation: Operation): string[] {
  const [mediaType, media] = Object.entries(operation.requestBody?.content ?? {})[0] ?? [];
  if (!mediaType || !media?.schema) return [];
  const schema = resolver.resolve(media.schema);
  return [
    `**Request body** (\`${mediaType}\`)${schema.description ? `: ${cell(schema.description)}` : ''}`,
    '',
    ...fieldTable(resolver, schema),
    '',
    codeBlock(mediaType, mediaExample(resolver, media)),
    '',
  ];
}

function responseSection(resolver: SchemaResolver, operation: Operation): string[] {
  const rows: string[] = [];
  const examples: string[] = [];
  for (const [status, reference] of Object.entries(operation.responses)) {
    const response = resolver.resolve<Response>(reference);
    const headers = Object.keys(response.headers ?? {})
      .map((name) => `\`${name}\``)
      .join(', ');
    const [mediaType, media] = Object.entries(response.content ?? {})[0] ?? [];
    const example = media ? mediaExample(resolver, media) : undefined;
    const label = status === 'default' ? 'other' : status;
    const body = mediaType ? `\`${mediaType}\`` : 'no body';
    const isError = status === 'default' || Number(status) >= 400;
    // Problem documents all share one shape: inline, so the page stays readable.
    const inline = example === undefined ? '' : isError ? `\`${cell(JSON.stringify(example))}\`` : 'below';
    rows.push(`| ${label} | ${cell(response.description)} | ${body} | ${headers} | ${inline} |`);
    if (!isError && mediaType && example !== undefined) examples.push(`Example ${label} (\`${mediaType}\`):`, '', codeBlock(mediaType, example), '');
  }
  return ['**Responses**', '', '| status | meaning | body | headers | example |', '| --- | --- | --- | --- | --- |', ...rows, '', ...examples];
}

function entriesOf(spec: Spec): Entry[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key): key is (typeof METHODS)[number] => (METHODS as readonly string[]).includes(key))
      .map((method) => {
        const operation = item[method] as Operation;
        return { method, path, operation, parameters: [...(item.parameters ?? []), ...(operation.parameters ?? [])] };
      }),
  );
}

function renderOperation(resolver: SchemaResolver, entry: Entry): string[] {
  const { operation } = entry;
  const access = accessOf(operation);
  const parameters = entry.parameters.map((parameter) => resolver.resolve<Parameter>(parameter));
  return [
    `<a id="${operation.operationId}"></a>`,
    '',
    `#### \`${entry.method.toUpperCase()} ${displayPath(entry.path)}\``,
    '',
    `**${operation.summary}** (\`${operation.operationId}\`)`,
    '',
    (operation.description ?? '').trim(),
    '',
    `- Authentication: ${who(access)}${access.authentication === 'public' ? '' : ' (`Authorization: Bearer <access_token>`)'}`,
    `- Permission: ${permissionText(access)}`,
    ...(operation['x-rate-limit'] ? [`- Rate limit: \`${operation['x-rate-limit']}\` (see [Rate limiting](#rate-limiting))`] : []),
    '',
    ...parameterTable(resolver, parameters),
    ...requestSection(resolver, operation),
    ...responseSection(resolver, operation),
    curlCommand(resolver, { ...entry, parameters }, access),
    '',
  ];
}

/** The spec's `ProblemCode` list as a table, by status. */
function problemCodeTable(spec: Spec): string[] {
  const codes = [...(spec.components.schemas.ProblemCode?.oneOf ?? [])].sort((a, b) => a['x-status'] - b['x-status'] || a.const.localeCompare(b.const));
  return [
    '### Problem codes',
    '',
    'Every problem body carries one of these in `code` (see [Error handling](#error-handling)).',
    '',
    '| status | `code` | meaning |',
    '| --- | --- | --- |',
    ...codes.map((entry) => `| ${entry['x-status']} | \`${entry.const}\` | ${cell(entry.description)} |`),
    '',
  ];
}

export function renderEndpoints(specText: string): string {
  const spec = parse(specText) as Spec;
  const resolver = new SchemaResolver(spec);
  const entries = entriesOf(spec);
  const index = entries.map(({ method, path, operation }) => {
    const access = accessOf(operation);
    return `| [\`${method.toUpperCase()} ${displayPath(path)}\`](#${operation.operationId}) | ${who(access)} | ${permissionText(access)} | ${cell(operation.summary)} |`;
  });
  const sections = spec.tags.flatMap((tag) => {
    const tagged = entries.filter((entry) => entry.operation.tags[0] === tag.name);
    if (tagged.length === 0) return [];
    return [`### ${tag.name}`, '', cell(tag.description), '', ...tagged.flatMap((entry) => renderOperation(resolver, entry))];
  });
  return [
    `${entries.length} operations. Paths are under \`${API_BASE}\` unless they start at the root (the health probes and the JWKS). Each curl command expects \`BASE_URL\` (e.g. \`http://localhost:8000\`), \`ACCESS_TOKEN\` and the path's ids as shell variables.`,
    '',
    '| operation | authentication | permission | summary |',
    '| --- | --- | --- | --- |',
    ...index,
    '',
    ...sections,
    ...problemCodeTable(spec),
  ].join('\n');
}

/** API_REFERENCE.md with its generated section rebuilt from the spec; the rest kept as written. */
export function renderApiReference(specPath: string, document: string): string {
  const begin = document.indexOf(BEGIN_MARKER);
  const end = document.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`API_REFERENCE.md needs the markers ${BEGIN_MARKER} and ${END_MARKER}`);
  const generated = renderEndpoints(readFileSync(specPath, 'utf8'));
  return `${document.slice(0, begin + BEGIN_MARKER.length)}\n${generated.trimEnd()}\n${document.slice(end)}`;
}
