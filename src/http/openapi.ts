import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SPEC_FILE } from '../package-files.js';

const SPEC_PREFIX = '/api/v1';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

type SecurityRequirement = Record<string, string[]>;

interface OperationObject {
  operationId: string;
  security?: SecurityRequirement[];
  /** `public`: the per-client limit of the unauthenticated endpoints guards it. */
  'x-rate-limit'?: 'public';
  /** The same public document for every caller: exempt from the `no-store` of everything else. */
  'x-cacheable'?: boolean;
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
  rateLimited: boolean;
  cacheable: boolean;
}

/**
 * Loads the contract. The spec documents the default `/api/v1` prefix; a different
 * API_PREFIX moves every API path so that routing and validation agree with the config.
 */
export function loadApiDocument(apiPrefix: string): ApiDocument {
  const document = parse(readFileSync(SPEC_FILE, 'utf8')) as ApiDocument;
  if (apiPrefix === SPEC_PREFIX) return document;
  const paths = Object.fromEntries(
    Object.entries(document.paths).map(([path, item]) => [
      path.startsWith(`${SPEC_PREFIX}/`) ? apiPrefix + path.slice(SPEC_PREFIX.length) : path,
      item,
    ]),
  );
  return { ...document, paths };
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
export function listOperations(document: ApiDocument): SpecOperation[] {
  const paths = Object.entries(document.paths).sort(([a], [b]) => specificity(a).localeCompare(specificity(b)));
  return paths.flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      if (!operation) return [];
      const security = operation.security ?? document.security ?? [];
      return [
        {
          method,
          path,
          expressPath: path.replace(/\{([^}]+)\}/g, ':$1'),
          operationId: operation.operationId,
          requiresBearer: security.some((requirement) => 'bearerAuth' in requirement),
          rateLimited: operation['x-rate-limit'] === 'public',
          cacheable: operation['x-cacheable'] === true,
        },
      ];
    }),
  );
}
