import { type ApiDocument, type HttpMethod, listOperations, type SpecOperation } from '../../src/http/openapi.js';
import { dereference } from '../../scripts/spec-references.js';
import type { JsonSchema } from '../helpers/schema-arbitrary.js';

interface ParameterObject {
  $ref?: string;
  name: string;
  in: string;
  required?: boolean;
  schema: JsonSchema;
}

interface OperationDetails {
  parameters?: ParameterObject[];
  requestBody?: { $ref?: string; required?: boolean; content: Record<string, { schema: JsonSchema }> };
}

type PathItem = { parameters?: ParameterObject[] } & Partial<Record<HttpMethod, OperationDetails>>;

export interface BodyShape {
  mediaType: string;
  schema: JsonSchema;
}

/** An operation as the fuzzer needs it: its inputs, each as one JSON Schema. */
export interface OperationShape extends SpecOperation {
  /** The path parameters by name (all required, as OpenAPI wants). */
  pathParameters: Record<string, JsonSchema>;
  /** The query parameters as one object schema; the validator refuses unknown ones, hence no additional properties. */
  query: JsonSchema;
  /** One entry per media type the request body may have; empty without a body. */
  bodies: BodyShape[];
  /** Every method the operation's path declares: the others are answered 405. */
  pathMethods: HttpMethod[];
}

const SUPPORTED_LOCATIONS = new Set(['path', 'query']);

/** The spec's operations with their parameters (path-level ones overridden by the operation's own) and bodies. */
export function operationShapes(document: ApiDocument): OperationShape[] {
  return listOperations(document).map((operation) => {
    const item = document.paths[operation.path] as PathItem;
    const details = item[operation.method] as OperationDetails;
    const parameters = new Map<string, ParameterObject>();
    for (const raw of [...(item.parameters ?? []), ...(details.parameters ?? [])]) {
      const parameter = dereference(raw, document);
      // Optional headers (If-None-Match of the cacheable documents) are simply not sent.
      if (parameter.in === 'header' && !parameter.required) continue;
      if (!SUPPORTED_LOCATIONS.has(parameter.in)) {
        throw new Error(`${operation.operationId}: the fuzzer does not send ${parameter.in} parameters yet (${parameter.name})`);
      }
      parameters.set(`${parameter.in}:${parameter.name}`, parameter);
    }
    const of = (location: string) => [...parameters.values()].filter((parameter) => parameter.in === location);
    const body = details.requestBody && dereference(details.requestBody, document);
    return {
      ...operation,
      pathParameters: Object.fromEntries(of('path').map((parameter) => [parameter.name, parameter.schema])),
      query: {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(of('query').map((parameter) => [parameter.name, parameter.schema])),
        required: of('query')
          .filter((parameter) => parameter.required)
          .map((parameter) => parameter.name),
      },
      bodies: Object.entries(body?.content ?? {}).map(([mediaType, { schema }]) => ({ mediaType, schema })),
      pathMethods: (['get', 'put', 'post', 'delete', 'patch'] as const).filter((method) => item[method] !== undefined),
    };
  });
}
