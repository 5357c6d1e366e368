import fc from 'fast-check';
import { type JsonSchema, type SchemaScope, validValue } from '../helpers/schema-arbitrary.js';
import { boundaryValue, hostileValue, invalidValue, type Mutant } from '../helpers/schema-mutations.js';
import type { BodyShape, OperationShape } from './operation-shapes.js';
import { BODY_TWEAKS, formEncode, percentEncode, serializeBody, type Tweak, type WireBody } from './wire.js';

/**
 * Credentials other than the Admin's and the Member's tokens: none at all, and forged or
 * malformed ones. The world turns each into an Authorization header (or none).
 */
export const FORGED_CREDENTIALS = [
  'none',
  'garbage',
  'alg-none',
  'expired',
  'wrong-key',
  'wrong-type',
  'unknown-session',
  'refresh-as-access',
  'basic-scheme',
  'empty-bearer',
  'token-with-junk',
  'oversized',
  'lower-case-scheme',
  'latin1-token',
] as const;
export type Credential = 'admin' | 'member' | (typeof FORGED_CREDENTIALS)[number];

/** A path parameter: one of the world's objects (own organization's or another's), or a literal segment. */
export type PathArg = { kind: 'own' | 'foreign'; pick: number; fallback: string } | { kind: 'segment'; segment: string };

export const ROUTE_TWEAKS = ['extra path segment', 'trailing slash', 'doubled slash', 'upper-cased path'] as const;
export type RouteTweak = (typeof ROUTE_TWEAKS)[number];

export type Family = 'valid' | 'boundary' | 'hostile' | 'invalid' | 'auth' | 'encoding' | 'route';

/** One generated request, before the world fills in ids and tokens. */
export interface FuzzCase {
  operationId: string;
  family: Family;
  /** What makes this case what it is, e.g. `body.full_name: NUL byte`. */
  label: string;
  method: string;
  pathTemplate: string;
  pathArgs: Record<string, PathArg>;
  routeTweak?: RouteTweak;
  /** Encoded, without the `?`. */
  query: string;
  credential: Credential;
  wire: WireBody;
}

/** The parts of a request as values, before they are put on the wire. */
export interface Draft {
  pathArgs: Record<string, PathArg>;
  query: string;
  body?: { shape: BodyShape; value: unknown };
  label: string;
}

/** Path segments no schema describes: encodings and traversals that trip routers and decoders. */
export const JUNK_SEGMENTS: Record<string, string> = {
  'percent-encoded NUL': '%00',
  'invalid percent-encoding': '%E0%A4%A',
  'lone percent sign': '%',
  'encoded slashes': '..%2F..%2Fadmin',
  'dot segment': '..',
  'huge segment (4,000 characters)': 'a'.repeat(4000),
  'non-ASCII segment': percentEncode('ü✓日本'),
  'SQL injection': percentEncode("' OR 1=1 --"),
  'empty segment': '',
};

/** Spellings of numbers and booleans that query parsers disagree on, as sent (percent-encoded where needed). */
const ODD_SCALARS: Record<string, string> = {
  'exponent 1e3': '1e3',
  'hexadecimal 0x10': '0x10',
  'plus sign': '%2B5',
  'leading space': '%205',
  'negative zero': '-0',
  NaN: 'NaN',
  Infinity: 'Infinity',
  'Arabic-Indic digits': percentEncode('١٢'),
  'TRUE in capitals': 'TRUE',
  yes: 'yes',
  'empty value': '',
  'percent-encoded NUL': '%00',
  'invalid percent-encoding': '%zz',
};

const segmentOf = (value: unknown) => percentEncode(typeof value === 'string' ? value : JSON.stringify(value));

function validPathArg(schema: JsonSchema, scope: SchemaScope): fc.Arbitrary<PathArg> {
  const kind = fc.oneof(
    { weight: 8, arbitrary: fc.constant('own' as const) },
    { weight: 1, arbitrary: fc.constant('foreign' as const) },
    { weight: 1, arbitrary: fc.constant('segment' as const) },
  );
  return fc
    .tuple(kind, fc.nat(99), validValue(schema, scope).map(segmentOf))
    .map(([kind, pick, fallback]): PathArg => (kind === 'segment' ? { kind, segment: fallback } : { kind, pick, fallback }));
}

export function validDraft(shape: OperationShape, scope: SchemaScope): fc.Arbitrary<Draft> {
  const pathArgs = fc.record(Object.fromEntries(Object.entries(shape.pathParameters).map(([name, schema]) => [name, validPathArg(schema, scope)])));
  const query = validValue(shape.query, scope).map(formEncode);
  const bodies = shape.bodies.map((bodyShape) => validValue(bodyShape.schema, scope).map((value) => ({ shape: bodyShape, value })));
  const body = bodies.length === 0 ? fc.constant(undefined) : fc.oneof(...bodies);
  return fc.record({ pathArgs, query, body, label: fc.constant('valid') });
}

type MutantMaker = (schema: JsonSchema, scope: SchemaScope, where: string) => fc.Arbitrary<Mutant> | undefined;

/** What one spot changes in a valid draft; `parameter` replaces one query parameter, raw, keeping the others. */
type Change = Partial<Draft> & { parameter?: { name: string; raw: string } };

function withParameter(query: string, { name, raw }: { name: string; raw: string }): string {
  return [...query.split('&').filter((pair) => pair !== '' && pair.split('=')[0] !== name), raw].join('&');
}

/** A valid draft with exactly one part (one path parameter, the query or the body) replaced by a mutant. */
function oneSpotDraft(shape: OperationShape, scope: SchemaScope, make: MutantMaker, extra: fc.Arbitrary<Change>[] = []): fc.Arbitrary<Draft> | undefined {
  const changes: fc.Arbitrary<Change>[] = [...extra];
  for (const [name, schema] of Object.entries(shape.pathParameters)) {
    const mutant = make(schema, scope, `path.${name}`);
    if (mutant) changes.push(mutant.map(({ value, label }) => ({ pathArgs: { [name]: { kind: 'segment', segment: segmentOf(value) } }, label })));
  }
  const query = make(shape.query, scope, 'query');
  if (query) changes.push(query.map(({ value, label }) => ({ query: formEncode(value), label })));
  for (const bodyShape of shape.bodies) {
    const body = make(bodyShape.schema, scope, 'body');
    if (body) changes.push(body.map(({ value, label }) => ({ body: { shape: bodyShape, value }, label })));
  }
  if (changes.length === 0) return undefined;
  return fc.tuple(validDraft(shape, scope), fc.oneof(...changes)).map(([draft, { parameter, ...change }]) => ({
    ...draft,
    ...change,
    pathArgs: { ...draft.pathArgs, ...change.pathArgs },
    query: parameter ? withParameter(draft.query, parameter) : (change.query ?? draft.query),
  }));
}

/** Path segments and query spellings that no schema mutation produces. */
function rawInvalidParts(shape: OperationShape): fc.Arbitrary<Change>[] {
  const parts: fc.Arbitrary<Change>[] = Object.keys(shape.pathParameters).map((name) =>
    fc
      .constantFrom(...Object.entries(JUNK_SEGMENTS))
      .map(([kind, segment]) => ({ pathArgs: { [name]: { kind: 'segment', segment } satisfies PathArg }, label: `path.${name}: ${kind}` })),
  );
  const names = Object.keys(shape.query.properties ?? {});
  if (names.length > 0) {
    parts.push(
      fc
        .tuple(fc.constantFrom(...names), fc.constantFrom(...Object.entries(ODD_SCALARS)))
        .map(([name, [kind, spelling]]) => ({ parameter: { name, raw: `${name}=${spelling}` }, label: `query.${name}: ${kind}` })),
      fc.constantFrom(...names).map((name) => ({ parameter: { name, raw: `${name}=1&${name}=2` }, label: `query.${name}: repeated` })),
      fc.constantFrom(...names).map((name) => ({ parameter: { name, raw: `${name}[]=1&${name}[x]=2` }, label: `query.${name}: array and object syntax` })),
    );
  }
  return parts;
}

function toWire(draft: Draft): WireBody {
  if (!draft.body) return { headers: {} };
  const { shape, value } = draft.body;
  return { headers: { 'content-type': shape.mediaType }, body: serializeBody(shape.mediaType, value) };
}

export function caseOf(shape: OperationShape, family: Family, draft: Draft, credential: Credential, wire = toWire(draft)): FuzzCase {
  return {
    operationId: shape.operationId,
    family,
    label: draft.label,
    method: shape.method.toUpperCase(),
    pathTemplate: shape.path,
    pathArgs: draft.pathArgs,
    query: draft.query,
    credential,
    wire,
  };
}

/** A bearer operation is called as the Admin mostly, as the Member (read-only) otherwise; a public one without a token. */
export function callerOf(shape: OperationShape): fc.Arbitrary<Credential> {
  return shape.requiresBearer ? fc.oneof({ weight: 7, arbitrary: fc.constant('admin' as const) }, { weight: 3, arbitrary: fc.constant('member' as const) }) : fc.constant('none');
}

// Operations without a body get one anyway: a body where none is expected must not break them either.
const PROBE: NonNullable<Draft['body']> = { shape: { mediaType: 'application/json', schema: {} }, value: { probe: true } };

/** The valid request with its body put on the wire in an odd way. */
export function tweakedCase(shape: OperationShape, draft: Draft, credential: Credential, [label, tweak]: [string, Tweak]): FuzzCase {
  const body = draft.body ?? PROBE;
  return caseOf(shape, 'encoding', { ...draft, label }, credential, tweak(body.shape.mediaType, body.value));
}

/** Every generated request of one operation: the families, weighted, that apply to it. */
export function caseArbitrary(shape: OperationShape, scope: SchemaScope): fc.Arbitrary<FuzzCase> {
  const user = callerOf(shape);
  const families: fc.WeightedArbitrary<FuzzCase>[] = [];
  const add = (weight: number, family: Family, draft: fc.Arbitrary<Draft> | undefined) => {
    if (draft) families.push({ weight, arbitrary: fc.tuple(draft, user).map(([value, credential]) => caseOf(shape, family, value, credential)) });
  };
  const valid = validDraft(shape, scope);
  add(24, 'valid', valid);
  add(14, 'boundary', oneSpotDraft(shape, scope, boundaryValue));
  add(14, 'hostile', oneSpotDraft(shape, scope, hostileValue));
  add(22, 'invalid', oneSpotDraft(shape, scope, invalidValue, rawInvalidParts(shape)));

  families.push({
    weight: shape.requiresBearer ? 8 : 3,
    arbitrary: fc
      .tuple(valid, fc.constantFrom(...FORGED_CREDENTIALS))
      .map(([draft, credential]) => caseOf(shape, 'auth', { ...draft, label: `credential: ${credential}` }, credential)),
  });

  families.push({
    weight: 14,
    arbitrary: fc.tuple(valid, fc.constantFrom(...Object.entries(BODY_TWEAKS)), user).map(([draft, tweak, credential]) => tweakedCase(shape, draft, credential, tweak)),
  });

  families.push({ weight: 4, arbitrary: routeCase(shape, valid, user) });
  return fc.oneof(...families);
}

/** The valid request on a path or with a method the spec does not declare: a 404 or 405, never a 5xx. */
function routeCase(shape: OperationShape, valid: fc.Arbitrary<Draft>, user: fc.Arbitrary<Credential>): fc.Arbitrary<FuzzCase> {
  const otherMethods = (['get', 'put', 'post', 'delete', 'patch'] as const).filter((method) => !shape.pathMethods.includes(method));
  const routes: fc.Arbitrary<{ routeTweak?: RouteTweak; method: string; label: string }>[] = [
    fc.constantFrom(...ROUTE_TWEAKS).map((routeTweak) => ({ routeTweak, method: shape.method.toUpperCase(), label: routeTweak })),
  ];
  if (otherMethods.length > 0) {
    routes.push(fc.constantFrom(...otherMethods).map((method) => ({ method: method.toUpperCase(), label: `undeclared method ${method.toUpperCase()}` })));
  }
  return fc.tuple(valid, fc.oneof(...routes), user).map(([draft, tweak, credential]) => ({
    ...caseOf(shape, 'route', { ...draft, label: tweak.label }, credential),
    method: tweak.method,
    routeTweak: tweak.routeTweak,
  }));
}
