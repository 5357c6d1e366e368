const UNIQUE_VIOLATION = '23505';
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
// SQLSTATE classes 08 (connection exception) and 57P0x (server shutting down or restarting).
const UNAVAILABLE_SQLSTATE = /^(08|57P0)/;

/** Drizzle wraps driver errors: codes sit on `cause.code` (postgres.js and PGlite alike). */
function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let current = err, depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

export function isUniqueViolation(err: unknown): boolean {
  return errorCodes(err).includes(UNIQUE_VIOLATION);
}

/** The unique index a 23505 violated: postgres.js names it `constraint_name`, PGlite `constraint`. */
export function violatedUniqueIndex(err: unknown): string | undefined {
  for (let current = err, depth = 0; current && depth < 4; depth += 1) {
    const { code, constraint_name: constraintName, constraint } = current as { code?: unknown; constraint_name?: unknown; constraint?: unknown };
    if (code === UNIQUE_VIOLATION) {
      const name = constraintName ?? constraint;
      return typeof name === 'string' ? name : undefined;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the database could not be reached (as opposed to a query that failed). */
export function isDatabaseUnavailable(err: unknown): boolean {
  return errorCodes(err).some((code) => CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code));
}
