import fc from 'fast-check';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';
import type { SchemaScope } from '../helpers/schema-arbitrary.js';
import { withFreeText } from '../helpers/schema-free-text.js';
import type { OperationShape } from './operation-shapes.js';
import {
  callerOf,
  caseArbitrary,
  caseOf,
  type Credential,
  type Draft,
  FORGED_CREDENTIALS,
  type FuzzCase,
  JUNK_SEGMENTS,
  type PathArg,
  tweakedCase,
  validDraft,
} from './request-cases.js';
import { BODY_TWEAKS, formEncode } from './wire.js';

/** Turns a seeded valid request of the operation into one sweep case. */
type Variant = (draft: Draft, caller: Credential, seed: number) => FuzzCase | undefined;

function variantsOf(shape: OperationShape, happy: SchemaScope): Variant[] {
  const variants: Variant[] = Object.entries(BODY_TWEAKS).map((tweak) => (draft, caller) => tweakedCase(shape, draft, caller, tweak));
  if (shape.requiresBearer) {
    variants.push(
      ...FORGED_CREDENTIALS.map(
        (credential): Variant =>
          (draft) =>
            caseOf(shape, 'auth', { ...draft, label: `credential: ${credential}` }, credential),
      ),
    );
  }
  for (const name of Object.keys(shape.pathParameters)) {
    variants.push(
      ...Object.entries(JUNK_SEGMENTS).map(
        ([kind, segment]): Variant =>
          (draft, caller) =>
            caseOf(shape, 'invalid', { ...draft, pathArgs: { ...draft.pathArgs, [name]: { kind: 'segment', segment } }, label: `path.${name}: ${kind}` }, caller),
      ),
    );
  }
  // On the happy path (as the Admin, on the organization's own objects) to reach the database, not an early 4xx.
  const writer: Credential = shape.requiresBearer ? 'admin' : 'none';
  for (const [kind, text] of Object.entries(HOSTILE_STRINGS)) {
    const query = withFreeText(shape.query, happy, text);
    const bodies = shape.bodies.flatMap((bodyShape) => {
      const filled = withFreeText(bodyShape.schema, happy, text);
      return filled ? [filled.map((value) => ({ shape: bodyShape, value }))] : [];
    });
    if (!query && bodies.length === 0) continue;
    const filled = fc.record({ query: query ?? fc.constant(undefined), body: bodies.length > 0 ? fc.oneof(...bodies) : fc.constant(undefined) });
    variants.push((draft, _caller, seed) => {
      const [values] = fc.sample(filled, { seed, numRuns: 1 });
      if (!values) return undefined;
      const own = Object.fromEntries(
        Object.entries(draft.pathArgs).map(([name, arg]): [string, PathArg] => [name, { kind: 'own', pick: 0, fallback: arg.kind === 'segment' ? arg.segment : arg.fallback }]),
      );
      const changed: Draft = {
        ...draft,
        pathArgs: own,
        query: values.query === undefined ? draft.query : formEncode(values.query),
        body: values.body ?? draft.body,
        label: `every free-text field: ${kind}`,
      };
      return caseOf(shape, 'hostile', changed, writer);
    });
  }
  return variants;
}

/**
 * The fixed part of a run: each operation once with every wire tweak, every forged credential,
 * every junk path segment and every hostile payload, so that none is left to chance. Each
 * variant changes a seeded valid request of its own.
 */
export function sweepCases(shapes: OperationShape[], scopes: { random: SchemaScope; happy: SchemaScope }, seed: number): FuzzCase[] {
  return shapes.flatMap((shape, index) => {
    const variants = variantsOf(shape, scopes.happy);
    const bases = fc.sample(fc.tuple(validDraft(shape, scopes.random), callerOf(shape)), { seed: (seed + index) | 0, numRuns: variants.length });
    return variants.flatMap((variant, at) => {
      const [draft, caller] = bases[at] as [Draft, Credential];
      return variant(draft, caller, (seed + index * 1000 + at) | 0) ?? [];
    });
  });
}

/** The random part: `runs` cases drawn over every operation and every family. */
export function randomCases(shapes: OperationShape[], scope: SchemaScope, seed: number, runs: number): FuzzCase[] {
  return fc.sample(fc.oneof(...shapes.map((shape) => caseArbitrary(shape, scope))), { seed, numRuns: runs });
}
