import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/commands.js';

/** Every schema object in the document, with its JSON pointer. */
function schemasOf(node: unknown, pointer = ''): [string, Record<string, unknown>][] {
  if (typeof node !== 'object' || node === null) return [];
  const here: [string, Record<string, unknown>][] = 'pattern' in node ? [[pointer, node]] : [];
  return [...here, ...Object.entries(node).flatMap(([key, child]) => schemasOf(child, `${pointer}/${key}`))];
}

describe('the spec’s string schemas', () => {
  // The fuzzer (tests/helpers/schema-arbitrary.ts) generates from the pattern and keeps what fits
  // the length limits: a minLength the pattern's short matches miss made it discard strings
  // forever (the recovery code's, once). A pattern that needs a length says it, as {10,16}.
  it('leave a minimum length to the pattern: a pattern comes with no minLength above 1', () => {
    const spec = parse(readFileSync(`${ROOT}spec/openapi.yaml`, 'utf8')) as unknown;
    const offending = schemasOf(spec)
      .filter(([, schema]) => typeof schema.minLength === 'number' && schema.minLength > 1)
      .map(([pointer, schema]) => `${pointer}: minLength ${String(schema.minLength)} with ${String(schema.pattern)}`);
    expect(offending).toEqual([]);
  });
});
