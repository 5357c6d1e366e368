import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isPermission, type Permission } from '../core/permissions.js';
import { SPEC_FILE } from '../package-files.js';

const SPEC_PREFIX = '/api/v1';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

type SecurityRequirement = Record<string, string[]>;

interface OperationObject {
  operationId: string;
  description?: string;
  security?: SecurityRequirement[];
  /** What the caller's roles must grant; `none` lets any signed-in user in. */
  'x-permission'?: string;
  /** Only the platform super-admin may call it, whatever a role grants. */
  'x-platform'?: boolean;
  /** `public`: the per-client limit of the unauthenticated endpoints guards it. */
  'x-rate-limit'?: 'public';
  /** The same public document for every caller: exempt from the `no-store` of everything else. */
  'x-cacheable'?: boolean;
  requestBody?: { content?: Record<string, unknown> };
}

export interface ApiDocument {
  openapi: `3.1.${string}`;
  info: { title: string; version: string };
  security?: SecurityRequirement[];
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  [key: string]: unknown;
}

export interface SpecOperation {
  method: HttpMethod;
  /** The spec's path template, e.g. /api/v1/enterprise/teams/{team_id}. */
  path: string;
  /** The same path in Express syntax: /api/v1/enterprise/teams/:team_id. */
  expressPath: string;
  operationId: string;
  requiresBearer: boolean;
  /** The permission the router checks before the handler runs; null when any signed-in user (or anyone) may call. */
  permission: Permission | null;
  platformOnly: boolean;
  rateLimited: boolean;
  cacheable: boolean;
}

/**
 * The spec file as parsed the first time it was needed. It is a file of the package, the same for
 * as long as the process runs, and parsing its YAML costs a third of a second: a process that
 * builds several containers (the tests build a hundred) parses it once. Each caller gets a copy.
 */
const parsedSpec = (() => {
  let document: ApiDocument | undefined;
  return (): ApiDocument => structuredClone((document ??= parse(readFileSync(SPEC_FILE, 'utf8')) as ApiDocument));
})();

/**
 * Loads the contract. The spec documents the default `/api/v1` prefix; a different
 * API_PREFIX moves every API path so that routing and validation agree with the config.
 */
export function loadApiDocument(apiPrefix: string): ApiDocument {
  const document = withAccessSentences(parsedSpec());
  if (apiPrefix === SPEC_PREFIX) return document;
  const paths = Object.fromEntries(
    Object.entries(document.paths).map(([path, item]) => [path.startsWith(`${SPEC_PREFIX}/`) ? apiPrefix + path.slice(SPEC_PREFIX.length) : path, item]),
  );
  return { ...document, paths };
}

function accessSentence(operation: OperationObject): string | null {
  const permission = operation['x-permission'];
  if (permission === undefined) return null;
  if (operation['x-platform']) return `**Access:** the platform super-admin only (\`${permission}\`).`;
  if (permission === 'none') return '**Access:** any signed-in user.';
  return `**Access:** requires the \`${permission}\` permission.`;
}

/**
 * Who may call each operation, told in its description from `x-permission` and `x-platform`, so
 * the documents (Redoc, /openapi.json, Postman) say what the router enforces.
 */
export function withAccessSentences<Document extends Pick<ApiDocument, 'paths'>>(document: Document): Document {
  const paths = Object.fromEntries(
    Object.entries(document.paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, operation]) => {
          const sentence = HTTP_METHODS.includes(method as HttpMethod) ? accessSentence(operation) : null;
          if (!sentence) return [method, operation];
          const description = operation.description ? `${operation.description.trimEnd()}\n\n${sentence}` : sentence;
          return [method, { ...operation, description }];
        }),
      ),
    ]),
  );
  return { ...document, paths };
}

/** A bearer operation without `x-permission` would be a silent hole: the service refuses to start. */
function requiredPermission(operation: OperationObject, requiresBearer: boolean): Permission | null {
  const declared = operation['x-permission'];
  if (!requiresBearer) return null;
  if (declared === undefined) throw new Error(`Operation ${operation.operationId} takes a bearer token but declares no x-permission`);
  if (declared === 'none') return null;
  if (!isPermission(declared)) throw new Error(`Operation ${operation.operationId} names an unknown x-permission: ${declared}`);
  return declared;
}

/** One character per segment, literal before parameter: sorting by it puts concrete paths first. */
function specificity(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment.startsWith('{') ? '1' : '0'))
    .join('');
}

/**
 * The operations, concrete paths before templated ones that could match the same URL
 * (`/sso/discover` before `/sso/{sso_config_id}`), as OpenAPI resolves them.
 */
/** Every media type some operation of the document takes a request body in (`application/json`, ...). */
export function requestMediaTypes(document: ApiDocument): Set<string> {
  const operations = Object.values(document.paths).flatMap((item) => HTTP_METHODS.flatMap((method) => item[method] ?? []));
  return new Set(operations.flatMap((operation) => Object.keys(operation.requestBody?.content ?? {})).map((type) => type.toLowerCase()));
}

export function listOperations(document: ApiDocument): SpecOperation[] {
  const paths = Object.entries(document.paths).sort(([a], [b]) => specificity(a).localeCompare(specificity(b)));
  return paths.flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      if (!operation) return [];
      const security = operation.security ?? document.security ?? [];
      const requiresBearer = security.some((requirement) => 'bearerAuth' in requirement);
      return [
        {
          method,
          path,
          expressPath: path.replace(/\{([^}]+)\}/g, ':$1'),
          operationId: operation.operationId,
          requiresBearer,
          permission: requiredPermission(operation, requiresBearer),
          platformOnly: operation['x-platform'] === true,
          rateLimited: operation['x-rate-limit'] === 'public',
          cacheable: operation['x-cacheable'] === true,
        },
      ];
    }),
  );
}
