import type { NextFunction, Request, Response } from 'express';
import { AppError, type FieldError } from '../core/errors.js';

// C0 controls and DEL, except tab, line feed and carriage return (free text may hold those).
// PostgreSQL refuses NUL in text outright; the others have no business in names, emails or ids.
// eslint-disable-next-line no-control-regex -- matching control characters is what this pattern is for
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// A percent-encoded control in the raw path: Express decodes path parameters only per route.
const ENCODED_CONTROL_IN_PATH = /%(?:[01][0-9A-Fa-f]|7[Ff])/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 32;

function findControls(value: unknown, path: string, found: FieldError[], depth = 0): void {
  if (typeof value === 'string') {
    if (CONTROL_CHARACTER.test(value)) found.push({ path, message: 'must not contain control characters' });
    // A lone surrogate ("\ud800" in JSON) is no Unicode text; PostgreSQL refuses it in jsonb.
    else if (LONE_SURROGATE.test(value)) found.push({ path, message: 'must be valid Unicode' });
    return;
  }
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return;
  for (const [key, inner] of Object.entries(value)) {
    const innerPath = `${path}/${key.replace(CONTROL_CHARACTER, '?')}`;
    if (CONTROL_CHARACTER.test(key)) found.push({ path: innerPath, message: 'field names must not contain control characters' });
    findControls(inner, innerPath, found, depth + 1);
  }
}

/**
 * Refuses control characters and malformed Unicode in every string a request carries (path, query, body) with one 422,
 * before any of them reaches validation, a query or a log line.
 */
export function rejectControlCharacters(req: Request, _res: Response, next: NextFunction): void {
  const found: FieldError[] = [];
  if (ENCODED_CONTROL_IN_PATH.test(req.path)) found.push({ path: '/path', message: 'must not contain control characters' });
  findControls(req.query, '/query', found);
  findControls(req.body, '/body', found);
  if (found.length > 0) {
    const fields = found.map((item) => item.path.replace(/^\//, '')).join(', ');
    throw AppError.validation('request_control_characters', `Control characters are not allowed (found in ${fields})`.slice(0, 1000), found);
  }
  next();
}
