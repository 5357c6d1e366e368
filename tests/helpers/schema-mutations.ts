import fc from 'fast-check';
import { hostileString } from './hostile-strings.js';
import { admitsType, fitsString, fitted, type JsonSchema, jsonTypeOf, pick, resolveSchema, type SchemaScope, typesOf, validObject, validValue } from './schema-arbitrary.js';
import { formatValues } from './schema-formats.js';

/** A generated value and what was done to it, e.g. `body.full_name: NUL byte`. */
export interface Mutant {
  value: unknown;
  label: string;
}

/** A value for one spot and its kind, e.g. `at maxLength`. */
interface Spotted {
  kind: string;
  value: unknown;
}

/** What to do at one spot of a schema: the values to put there (none when nothing applies). */
type Spot = (schema: JsonSchema, scope: SchemaScope) => fc.Arbitrary<Spotted>[];

const constant = (kind: string, value: unknown): fc.Arbitrary<Spotted> => fc.constant({ kind, value });
const kindOf = (kind: string, arbitrary: fc.Arbitrary<unknown>): fc.Arbitrary<Spotted> => arbitrary.map((value) => ({ kind, value }));

function integerEdges(schema: JsonSchema, integer: boolean): fc.Arbitrary<Spotted>[] {
  const edges: fc.Arbitrary<Spotted>[] = [];
  if (schema.minimum !== undefined) edges.push(constant('at minimum', schema.minimum));
  if (schema.maximum !== undefined) edges.push(constant('at maximum', schema.maximum));
  if (schema.maximum === undefined) {
    if (integer) {
      edges.push(constant('integer 2^31', 2 ** 31), constant('integer 2^53 - 1', Number.MAX_SAFE_INTEGER));
      edges.push(constant('integer 2^63', 2 ** 63), constant('integer 2^64', 2 ** 64));
    } else edges.push(constant('number 1e308', 1e308));
  }
  if (schema.minimum === undefined) edges.push(constant('negative 2^63', -(2 ** 63)));
  return edges;
}

function stringEdges(schema: JsonSchema): fc.Arbitrary<Spotted>[] {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength;
  const edges: [string, string][] = [];
  if (schema.format !== undefined) {
    const format = formatValues(schema.format);
    edges.push(...Object.entries(format.edges));
    for (const [kind, length] of [
      ['at minLength', min],
      ['at maxLength', max],
    ] as const) {
      const text = length === undefined ? undefined : format.ofLength?.(length);
      if (text !== undefined) edges.push([kind, text]);
    }
  } else {
    edges.push([min === 0 ? 'empty string' : 'at minLength', 'a'.repeat(min)]);
    if (max === undefined) edges.push(['very long (50,000 characters)', 'x'.repeat(50_000)]);
    else {
      edges.push(['at maxLength', 'z'.repeat(max)], ['at maxLength of digits', '0'.repeat(max)]);
      // JSON Schema counts code points: a 😀 is one character to it, two UTF-16 units and four bytes on the wire.
      edges.push(['at maxLength in astral characters', '😀'.repeat(max)], ['at maxLength in 3-byte characters', '日'.repeat(max)]);
    }
  }
  return edges.filter(([, text]) => fitsString(schema, text)).map(([kind, text]) => constant(kind, text));
}

function arrayEdges(schema: JsonSchema, scope: SchemaScope): fc.Arbitrary<Spotted>[] {
  const items = resolveSchema(schema.items ?? {}, scope.document);
  const exactly = (length: number): fc.Arbitrary<unknown> => {
    if (schema.uniqueItems && items.enum) return fc.shuffledSubarray(items.enum, { minLength: length, maxLength: length });
    const item = validValue(items, scope);
    return schema.uniqueItems
      ? fc.uniqueArray(item, { minLength: length, maxLength: length, selector: (value) => JSON.stringify(value) })
      : fc.array(item, { minLength: length, maxLength: length });
  };
  const min = schema.minItems ?? 0;
  return [
    kindOf(min === 0 ? 'empty array' : 'at minItems', exactly(min)),
    schema.maxItems === undefined ? kindOf('200 items', exactly(200)) : kindOf('at maxItems', exactly(schema.maxItems)),
  ];
}

function objectEdges(schema: JsonSchema, scope: SchemaScope): fc.Arbitrary<Spotted>[] {
  const edges = [kindOf('every declared field', validObject(schema, scope, true))];
  const required = schema.required ?? [];
  const keys = Object.keys(schema.properties ?? {});
  if (required.length > 0) edges.push(kindOf('only the required fields', validObject({ ...schema, properties: pick(schema.properties, required) }, scope)));
  else if (keys.length > 0) {
    // A partial update that changes one field only.
    const single = keys.map((key) => validObject({ ...schema, properties: pick(schema.properties, [key]), required: [key] }, scope));
    edges.push(kindOf('a single field', fc.oneof(...single)));
  }
  return edges;
}

const boundarySpot: Spot = (schema, scope) => {
  const types = typesOf(schema);
  const edges = types.includes('null') ? [constant('null', null)] : [];
  if (schema.enum) return [...edges, kindOf('enum member', fc.constantFrom(...schema.enum))];
  if (types.includes('string')) edges.push(...stringEdges(schema));
  if (types.includes('integer') || types.includes('number')) edges.push(...integerEdges(schema, !types.includes('number')));
  if (types.includes('array')) edges.push(...arrayEdges(schema, scope));
  if (types.includes('object')) edges.push(...objectEdges(schema, scope));
  return edges;
};

const WRONG_TYPES: unknown[] = [null, true, 0, 1.5, 'text', [], {}, [1, 'two'], { nested: { deeper: true } }];

function stringMisses(schema: JsonSchema): [string, string][] {
  const min = schema.minLength ?? 0;
  const misses: [string, string][] = [];
  if (min > 0) misses.push(['shorter than minLength', 'a'.repeat(min - 1)]);
  if (schema.maxLength !== undefined) {
    misses.push(['longer than maxLength', 'a'.repeat(schema.maxLength + 1)], ['longer than maxLength in astral characters', '😀'.repeat(schema.maxLength + 1)]);
  }
  if (schema.pattern !== undefined) {
    const candidates: [string, string][] = [
      ['upper case', 'UPPER'],
      ['a space', 'with space'],
      ['non-ASCII letters', 'ünïcödé'],
      ['punctuation', 'a_b.c!'],
    ];
    misses.push(...candidates.map(([kind, text]): [string, string] => [`pattern broken by ${kind}`, text]));
  }
  const broken = misses.filter(([, text]) => !fitsString(schema, text));
  // A near miss of the format may well fit the length and pattern: the format alone rules it out.
  return schema.format === undefined ? broken : [...broken, ...Object.entries(formatValues(schema.format).nearMisses)];
}

function numberMisses(schema: JsonSchema, integer: boolean): [string, unknown][] {
  const misses: [string, unknown][] = [];
  if (schema.minimum !== undefined) misses.push(['below minimum', schema.minimum - 1]);
  if (schema.maximum !== undefined) misses.push(['above maximum', schema.maximum + 1]);
  if (integer) misses.push(['fraction', (schema.minimum ?? 0) + 0.5]);
  misses.push(['number as a string', String(schema.minimum ?? 1)]);
  return misses;
}

function arrayMisses(schema: JsonSchema, scope: SchemaScope): fc.Arbitrary<Spotted>[] {
  const item = validValue(schema.items ?? {}, scope);
  const misses: fc.Arbitrary<Spotted>[] = [];
  if (schema.maxItems !== undefined) misses.push(kindOf('more than maxItems', fc.array(item, { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 1 })));
  if ((schema.minItems ?? 0) > 0) misses.push(kindOf('fewer than minItems', fc.array(item, { maxLength: (schema.minItems as number) - 1 })));
  if (schema.uniqueItems)
    misses.push(
      kindOf(
        'duplicate items',
        item.map((value) => [value, value]),
      ),
    );
  return misses;
}

function objectMisses(schema: JsonSchema, scope: SchemaScope): fc.Arbitrary<Spotted>[] {
  const valid = validObject(schema, scope);
  const misses = (schema.required ?? []).map((key) =>
    kindOf(
      `missing required field ${key}`,
      valid.map(({ [key]: _dropped, ...rest }) => rest),
    ),
  );
  // JSON.parse makes "__proto__" an own field, as a client's JSON body would.
  misses.push(
    kindOf(
      'own __proto__ field',
      valid.map((value) => ({ ...value, ...JSON.parse('{"__proto__": {"is_superadmin": true}}') })),
    ),
  );
  if (schema.additionalProperties === false)
    misses.push(
      kindOf(
        'unknown extra field',
        valid.map((value) => ({ ...value, unexpected_field: 'surprise' })),
      ),
    );
  if ((schema.minProperties ?? 0) > 0 || (schema.required ?? []).length > 0) misses.push(constant('empty object', {}));
  if (schema.maxProperties !== undefined) {
    const tooMany = Object.fromEntries(Array.from({ length: schema.maxProperties + 1 }, (_, index) => [`key${index}`, 'value']));
    misses.push(constant('more than maxProperties', tooMany));
  }
  return misses;
}

const invalidSpot: Spot = (schema, scope) => {
  const types = typesOf(schema);
  const misses = WRONG_TYPES.filter((value) => !admitsType(types, jsonTypeOf(value))).map((value) => constant(`wrong type ${jsonTypeOf(value)}`, value));
  if (schema.enum) {
    const member = String(schema.enum[0]);
    return [...misses, constant('enum member in another case', member.toUpperCase()), constant('not an enum member', `${member}-unknown`)];
  }
  if (types.includes('string')) misses.push(...stringMisses(schema).map(([kind, text]) => constant(kind, text)));
  if (types.includes('integer') || types.includes('number')) misses.push(...numberMisses(schema, !types.includes('number')).map(([kind, value]) => constant(kind, value)));
  if (types.includes('array')) misses.push(...arrayMisses(schema, scope));
  if (types.includes('object')) misses.push(...objectMisses(schema, scope));
  return misses;
};

const hostileSpot: Spot = (schema) => {
  if (schema.enum || !typesOf(schema).includes('string')) return [];
  return [hostileString.map(({ label, text }) => ({ kind: label, value: fitted(schema, text) }))];
};

/**
 * A valid value in which one spot (the value itself, or one property or item at any depth) holds
 * what `spot` puts there, labelled with where and what. The value's own spot weighs as much as
 * all its properties together, so neither object-level changes nor field-level ones drown.
 */
function somewhere(schema: JsonSchema, scope: SchemaScope, where: string, spot: Spot): fc.Arbitrary<Mutant> | undefined {
  const resolved = resolveSchema(schema, scope.document);
  const properties = Object.entries(resolved.properties ?? {});
  const own = spot(resolved, scope);
  const options: fc.WeightedArbitrary<Mutant>[] =
    own.length === 0 ? [] : [{ weight: Math.max(1, properties.length), arbitrary: fc.oneof(...own).map(({ kind, value }) => ({ value, label: `${where}: ${kind}` })) }];
  const base = properties.length > 0 ? validObject({ ...resolved, type: 'object' }, scope) : undefined;
  for (const [key, property] of properties) {
    const inner = base && somewhere(property, scope, `${where}.${key}`, spot);
    if (inner) options.push({ weight: 1, arbitrary: fc.tuple(base, inner).map(([value, mutant]) => ({ value: { ...value, [key]: mutant.value }, label: mutant.label })) });
  }
  if (resolved.items && typesOf(resolved).includes('array')) {
    const inner = somewhere(resolved.items, scope, `${where}[]`, spot);
    if (inner) options.push({ weight: 1, arbitrary: inner.map((mutant) => ({ value: [mutant.value], label: mutant.label })) });
  }
  return options.length > 0 ? fc.oneof(...options) : undefined;
}

/** Valid values with one spot at an edge: length and range limits, enum members, null, odd but valid formats. */
export function boundaryValue(schema: JsonSchema, scope: SchemaScope, where: string): fc.Arbitrary<Mutant> | undefined {
  return somewhere(schema, scope, where, boundarySpot);
}

/** Values that break the schema at one spot: wrong types, missing and extra fields, limits passed, near-miss formats. */
export function invalidValue(schema: JsonSchema, scope: SchemaScope, where: string): fc.Arbitrary<Mutant> | undefined {
  return somewhere(schema, scope, where, invalidSpot);
}

/** Valid-shaped values with one string replaced by hostile content (control characters, injections, odd Unicode). */
export function hostileValue(schema: JsonSchema, scope: SchemaScope, where: string): fc.Arbitrary<Mutant> | undefined {
  return somewhere(schema, scope, where, hostileSpot);
}
