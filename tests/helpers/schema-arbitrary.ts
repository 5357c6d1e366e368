import fc from 'fast-check';
import { dereference } from '../../scripts/spec-references.js';
import { formatValues } from './schema-formats.js';

/**
 * A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as the spec writes it. Only the keywords
 * below are understood; any other one makes `resolveSchema` throw, so a spec that starts using
 * `oneOf` or `exclusiveMinimum` fails the fuzz run loudly instead of being fuzzed wrongly.
 */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  maxProperties?: number;
}

const VALIDATION_KEYWORDS = new Set([
  '$ref',
  'type',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
]);
const ANNOTATION_KEYWORDS = new Set(['description', 'default', 'example', 'examples', 'title', 'readOnly', 'writeOnly', 'deprecated']);

export interface SchemaScope {
  /** The OpenAPI document that `$ref`s point into. */
  document: unknown;
  /** Realistic values for a field, by name (ids of objects that exist, a known password): mixed in with generated ones. */
  hint?: (field: string) => fc.Arbitrary<unknown> | undefined;
  /** Use a field's hint alone: for requests meant to pass every check but the one under test. */
  hintsOnly?: boolean;
}

/** The schema with its `$ref`s followed, checked to use only keywords this generator understands. */
export function resolveSchema(schema: JsonSchema, document: unknown): JsonSchema {
  const current = dereference(schema, document);
  for (const keyword of Object.keys(current)) {
    if (!VALIDATION_KEYWORDS.has(keyword) && !ANNOTATION_KEYWORDS.has(keyword) && !keyword.startsWith('x-')) {
      throw new Error(`schema-arbitrary does not understand the keyword "${keyword}" yet: teach it before fuzzing this schema`);
    }
  }
  return current;
}

/** A schema that says nothing of the value's type: any JSON is valid. */
function isUnconstrained(schema: JsonSchema): boolean {
  return schema.type === undefined && !schema.enum && !schema.properties && schema.additionalProperties === undefined;
}

/** The JSON types a schema admits; `integer` is listed as such (it is also a `number`). */
export function typesOf(schema: JsonSchema): string[] {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.enum) return [...new Set(schema.enum.map(jsonTypeOf))];
  if (!isUnconstrained(schema)) return ['object'];
  return ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];
}

export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Whether a value of this JSON type satisfies `type` (an integer is a number too). */
export function admitsType(types: string[], type: string): boolean {
  return types.includes(type) || (type === 'integer' && types.includes('number'));
}

/** String length as JSON Schema counts it: in code points, not UTF-16 units. */
export function lengthOf(text: string): number {
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points are what JSON Schema's length counts
  return [...text].length;
}

/** `(?=…)` and `(?!…)` groups (without nested parentheses) dropped: fast-check cannot generate lookarounds. */
function withoutLookarounds(pattern: string): RegExp {
  return new RegExp(pattern.replace(/\(\?[=!][^()]*\)/g, ''));
}

/** Whether a string meets the schema's length and pattern (its format is the generator's job). */
export function fitsString(schema: JsonSchema, text: string): boolean {
  const length = lengthOf(text);
  if (length < (schema.minLength ?? 0) || length > (schema.maxLength ?? Number.POSITIVE_INFINITY)) return false;
  return schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(text);
}

/** Cut or padded to the schema's length limits, so that the content is what is tested, not the length. */
export function fitted(schema: JsonSchema, text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- cut in code points, as JSON Schema's length counts
  return [...text.padEnd(schema.minLength ?? 0, 'x')].slice(0, schema.maxLength ?? Number.POSITIVE_INFINITY).join('');
}

/** The properties named by `keys`. */
export function pick(properties: Record<string, JsonSchema> = {}, keys: string[]): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(properties).filter(([key]) => keys.includes(key)));
}

function validString(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? Number.POSITIVE_INFINITY, min + 40);
  let base: fc.Arbitrary<string>;
  if (schema.format !== undefined) base = formatValues(schema.format).valid;
  // Small: at larger sizes the quantifiers run long, and most strings would fail the length limits.
  else if (schema.pattern !== undefined) base = fc.stringMatching(withoutLookarounds(schema.pattern), { size: 'xsmall' });
  else base = fc.string({ minLength: min, maxLength: max });
  return base.filter((text) => fitsString(schema, text));
}

function validNumber(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const max = schema.maximum ?? (schema.minimum ?? 0) + 1000;
  const min = schema.minimum ?? max - 2000;
  return integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true });
}

function validArray(schema: JsonSchema, scope: SchemaScope): fc.Arbitrary<unknown[]> {
  const itemSchema = resolveSchema(schema.items ?? {}, scope.document);
  const minLength = schema.minItems ?? 0;
  const maxLength = Math.min(schema.maxItems ?? minLength + 5, minLength + 5);
  if (schema.uniqueItems && itemSchema.enum) {
    return fc.shuffledSubarray(itemSchema.enum, { minLength, maxLength: Math.min(maxLength, itemSchema.enum.length) });
  }
  const item = validValue(itemSchema, scope);
  return schema.uniqueItems ? fc.uniqueArray(item, { minLength, maxLength, selector: (value) => JSON.stringify(value) }) : fc.array(item, { minLength, maxLength });
}

/** A valid object; with `every`, each declared property is present. */
export function validObject(schema: JsonSchema, scope: SchemaScope, every = false): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const model = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, validValue(property, scope, key)]));
  const requiredKeys = every ? Object.keys(properties) : (schema.required ?? []).filter((key) => key in properties);
  const declared = fc.record(model, { requiredKeys }) as fc.Arbitrary<Record<string, unknown>>;
  const additional =
    typeof schema.additionalProperties === 'object'
      ? fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), validValue(schema.additionalProperties, scope), {
          maxKeys: Math.min(schema.maxProperties ?? 5, 5),
        })
      : fc.constant({});
  return fc
    .tuple(additional, declared)
    .map(([extra, fields]) => ({ ...extra, ...fields }))
    .filter((value) => {
      const count = Object.keys(value).length;
      return count >= (schema.minProperties ?? 0) && count <= (schema.maxProperties ?? Number.POSITIVE_INFINITY);
    });
}

function validOfType(schema: JsonSchema, type: string, scope: SchemaScope): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return validNumber(schema, true);
    case 'number':
      return validNumber(schema, false);
    case 'string':
      return validString(schema);
    case 'array':
      return validArray(schema, scope);
    case 'object':
      return validObject(schema, scope);
    default:
      throw new Error(`Unknown JSON Schema type ${type}`);
  }
}

/** Values the schema accepts, with the scope's hint for `field` mixed in (three to one) when it has one. */
export function validValue(schema: JsonSchema, scope: SchemaScope, field?: string): fc.Arbitrary<unknown> {
  const resolved = resolveSchema(schema, scope.document);
  let generated: fc.Arbitrary<unknown>;
  if (resolved.enum) generated = fc.constantFrom(...resolved.enum);
  else if (isUnconstrained(resolved)) generated = fc.jsonValue({ maxDepth: 2 });
  else {
    const types = typesOf(resolved);
    const concrete = types.filter((type) => type !== 'null').map((type) => validOfType(resolved, type, scope));
    if (concrete.length === 0) generated = fc.constant(null);
    else {
      const value = fc.oneof(...concrete);
      generated = types.includes('null') ? fc.option(value, { nil: null, freq: 5 }) : value;
    }
  }
  const hinted = field === undefined ? undefined : scope.hint?.(field);
  if (!hinted) return generated;
  return scope.hintsOnly ? hinted : fc.oneof({ weight: 3, arbitrary: hinted }, { weight: 1, arbitrary: generated });
}
