import type fc from 'fast-check';
import { fitted, type JsonSchema, pick, resolveSchema, type SchemaScope, typesOf, validObject, validValue } from './schema-arbitrary.js';

/** Text that reaches the service as it is: no format, pattern or enum for the validator to refuse it by. */
const isFreeText = (schema: JsonSchema) => typesOf(schema).includes('string') && !schema.enum && schema.format === undefined && schema.pattern === undefined;

/** Fields whose values must stay realistic for the request to get anywhere (a certificate, a token) are left alone. */
const isHinted = (scope: SchemaScope, field: string) => scope.hint?.(field) !== undefined;

function hasFreeText(schema: JsonSchema, scope: SchemaScope): boolean {
  const resolved = resolveSchema(schema, scope.document);
  if (isFreeText(resolved)) return true;
  const extra = typeof resolved.additionalProperties === 'object' ? [resolved.additionalProperties] : [];
  const fields = Object.entries(resolved.properties ?? {})
    .filter(([key]) => !isHinted(scope, key))
    .map(([, property]) => property);
  return [...fields, ...extra, ...(resolved.items ? [resolved.items] : [])].some((child) => hasFreeText(child, scope));
}

function fillFreeText(value: unknown, schema: JsonSchema, scope: SchemaScope, text: string): unknown {
  const resolved = resolveSchema(schema, scope.document);
  if (typeof value === 'string') return isFreeText(resolved) ? fitted(resolved, text) : value;
  if (Array.isArray(value)) return resolved.items ? value.map((item) => fillFreeText(item, resolved.items as JsonSchema, scope, text)) : value;
  if (value === null || typeof value !== 'object') return value;
  const extra = typeof resolved.additionalProperties === 'object' ? resolved.additionalProperties : undefined;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      const property = resolved.properties?.[key] ?? extra;
      return [key, property && !isHinted(scope, key) ? fillFreeText(inner, property, scope, text) : inner];
    }),
  );
}

/**
 * A valid value whose every free-text string is `text`, so that one payload reaches all the
 * columns a request writes: exactly the required fields and those that can hold free text (other
 * optional ones, such as a second way to name an organization, could get it refused first).
 * Undefined when the schema has no free text.
 */
export function withFreeText(schema: JsonSchema, scope: SchemaScope, text: string): fc.Arbitrary<unknown> | undefined {
  const resolved = resolveSchema(schema, scope.document);
  if (!hasFreeText(resolved, scope)) return undefined;
  if (!typesOf(resolved).includes('object')) return validValue(resolved, scope).map((value) => fillFreeText(value, resolved, scope, text));
  const textual = Object.entries(resolved.properties ?? {})
    .filter(([key, property]) => !isHinted(scope, key) && hasFreeText(property, scope))
    .map(([key]) => key);
  const keys = [...new Set([...(resolved.required ?? []), ...textual])];
  const base = validObject({ ...resolved, type: 'object', properties: pick(resolved.properties, keys), required: keys }, scope);
  return base.map((value) => fillFreeText(value, resolved, scope, text));
}
