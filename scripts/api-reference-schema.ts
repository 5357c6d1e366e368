/** Schemas of the spec as API_REFERENCE.md shows them: a compact type, constraints, an example. */
import { dereference } from './spec-references.js';

export interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  description?: string;
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  pattern?: string;
  writeOnly?: boolean;
}

/** Follows local `$ref`s (`#/components/...`) of one document. */
export class SchemaResolver {
  constructor(private readonly document: unknown) {}

  resolve<T extends { $ref?: string }>(node: T): T {
    return dereference(node, this.document);
  }
}

function types(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type ? [schema.type] : [];
}

export function describeType(resolver: SchemaResolver, reference: Schema): string {
  const schema = resolver.resolve(reference);
  return types(schema)
    .map((type) => {
      if (type === 'array' && schema.items) return `array of ${describeType(resolver, schema.items)}`;
      if (type === 'object' && typeof schema.additionalProperties === 'object') return `object of ${describeType(resolver, schema.additionalProperties)}`;
      return schema.format && type !== 'null' ? `${type} (${schema.format})` : type;
    })
    .join(' | ');
}

function range(low: number | undefined, high: number | undefined, unit: string): string | null {
  if (low === undefined && high === undefined) return null;
  if (low !== undefined && high !== undefined) return `${low}–${high}${unit}`;
  return low !== undefined ? `≥ ${low}${unit}` : `≤ ${high}${unit}`;
}

/** Every rule a value must meet, in words: lengths, ranges, patterns, enums, defaults. */
export function constraintsOf(resolver: SchemaResolver, reference: Schema): string {
  const schema = resolver.resolve(reference);
  const items = schema.items ? resolver.resolve(schema.items) : undefined;
  const rules = [
    range(schema.minLength, schema.maxLength, ' characters'),
    range(schema.minimum, schema.maximum, ''),
    range(schema.minItems, schema.maxItems, ' items'),
    schema.uniqueItems ? 'unique items' : null,
    schema.pattern ? `pattern \`${schema.pattern}\`` : null,
    schema.enum ? `one of ${schema.enum.map((value) => `\`${String(value)}\``).join(', ')}` : null,
    items?.enum ? `items one of ${items.enum.map((value) => `\`${String(value)}\``).join(', ')}` : null,
    items?.pattern ? `items match \`${items.pattern}\`` : null,
    schema.default !== undefined ? `default \`${JSON.stringify(schema.default)}\`` : null,
    schema.writeOnly ? 'write-only (never returned)' : null,
  ];
  return rules.filter((rule): rule is string => rule !== null).join('; ');
}

export function fieldTable(resolver: SchemaResolver, reference: Schema): string[] {
  const schema = resolver.resolve(reference);
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const description = property.description ?? resolver.resolve(property).description ?? '';
    const text = [constraintsOf(resolver, property), description].filter(Boolean).join('. ');
    return `| \`${name}\` | ${describeType(resolver, property)} | ${required.has(name) ? 'yes' : 'no'} | ${text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|')} |`;
  });
  const notes = [schema.minProperties ? `At least ${schema.minProperties} field.` : null, schema.additionalProperties === false ? 'No other fields are accepted.' : null].filter(
    Boolean,
  );
  return ['| field | type | required | rules and meaning |', '| --- | --- | --- | --- |', ...rows, ...(notes.length > 0 ? ['', notes.join(' ')] : [])];
}

const FORMAT_EXAMPLES: Record<string, string> = {
  uuid: '0c5e8a1b-2f4d-4b6a-8c9e-1a2b3c4d5e6f',
  email: 'grace@hopper-labs.example',
  'date-time': '2026-11-28T09:30:00Z',
  uri: 'https://app.hopper.example/',
};

/** The spec's own example when it has one, else a value built from the schema, the same every run. */
export function exampleOf(resolver: SchemaResolver, reference: Schema): unknown {
  const schema = resolver.resolve(reference);
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  const type = types(schema).find((candidate) => candidate !== 'null');
  switch (type) {
    case 'string':
      return (schema.format && FORMAT_EXAMPLES[schema.format]) ?? 'text';
    case 'integer':
    case 'number':
      return schema.minimum ?? 0;
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? [exampleOf(resolver, schema.items)] : [];
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, exampleOf(resolver, property)]));
    default:
      return null;
  }
}
