const UNIQUE_VIOLATION = '23505';
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
// SQLSTATE classes 08 (connection exception) and 57P0x (server shutting down or restarting).
const UNAVAILABLE_SQLSTATE = /^(08|57P0)/;

/** The error and what it wraps: drizzle puts the driver's error (postgres.js and PGlite alike) in `cause`. */
function* errorChain(err: unknown): Generator<Record<string, unknown>> {
  for (let current = err, depth = 0; current && typeof current === 'object' && depth < 4; depth += 1) {
    yield current as Record<string, unknown>;
    current = (current as { cause?: unknown }).cause;
  }
}

function errorCodes(err: unknown): string[] {
  return [...errorChain(err)].map((layer) => layer.code).filter((code): code is string => typeof code === 'string');
}

export function isUniqueViolation(err: unknown): boolean {
  return errorCodes(err).includes(UNIQUE_VIOLATION);
}

/** The unique index a 23505 violated: postgres.js names it `constraint_name`, PGlite `constraint`. */
export function violatedUniqueIndex(err: unknown): string | undefined {
  const violation = [...errorChain(err)].find((layer) => layer.code === UNIQUE_VIOLATION);
  const name = violation?.constraint_name ?? violation?.constraint;
  return typeof name === 'string' ? name : undefined;
}

/** The code that says the database could not be reached (as opposed to a query that failed), if any. */
export function unavailabilityCode(err: unknown): string | undefined {
  return errorCodes(err).find((code) => CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code));
}

export function isDatabaseUnavailable(err: unknown): boolean {
  return unavailabilityCode(err) !== undefined;
}
