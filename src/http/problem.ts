import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Logger } from '../observability/logger.js';
import { AppError, type FieldError } from '../core/errors.js';
import { type RequestLocals, requestLocals } from './request-context.js';

const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const INTERNAL_ERROR_DETAIL = 'An unexpected error occurred.';

const internalError = () => new AppError(500, 'internal_error', INTERNAL_ERROR_DETAIL);

interface ValidatorError {
  status: number;
  message: string;
  errors?: { path: string; message: string }[];
  headers?: Record<string, string>;
}

// body-parser's error types: entity.*, encoding.unsupported, charset.unsupported, request.*, parameters.too.many.
const BODY_PARSER_TYPES = /^(entity|encoding|charset|request|parameters)\./;

interface BodyParserError {
  status: number;
  type: string;
}

function isValidatorError(err: unknown): err is ValidatorError {
  const candidate = err as Partial<ValidatorError> | null;
  return typeof candidate?.status === 'number' && Array.isArray(candidate.errors);
}

function isBodyParserError(err: unknown): err is BodyParserError {
  const candidate = err as Partial<BodyParserError> | null;
  return typeof candidate?.status === 'number' && typeof candidate.type === 'string' && BODY_PARSER_TYPES.test(candidate.type);
}

/** express-openapi-validator reports paths like `/body/email` or `.body.email`; keep one form. */
function normalizePath(path: string): string {
  return path.startsWith('.') ? path.replace(/\./g, '/') : path;
}

function fromValidator(err: ValidatorError): AppError {
  const errors: FieldError[] = (err.errors ?? []).map((item) => ({ path: normalizePath(item.path), message: item.message }));
  switch (err.status) {
    case 400: {
      const summary = errors.map((item) => `${item.path.replace(/^\//, '')} ${item.message}`).join('; ');
      return AppError.validation('request_invalid', `Request validation failed: ${summary}`.slice(0, 1000), errors);
    }
    case 404:
      return AppError.notFound('route_not_found', 'No such resource');
    case 405:
      return new AppError(405, 'route_method_not_allowed', err.message, { headers: err.headers });
    case 413:
      return new AppError(413, 'request_body_too_large', 'The request body is too large');
    case 415:
      return new AppError(415, 'request_media_type_unsupported', 'Send the request body as application/json');
    default:
      // Response validation failures land here as 500: their text describes our own bug, not the request.
      if (err.status >= 500) return internalError();
      return new AppError(err.status, 'request_rejected', err.message);
  }
}

function fromBodyParser(err: BodyParserError): AppError {
  switch (err.type) {
    case 'entity.too.large':
    case 'parameters.too.many':
      return new AppError(413, 'request_body_too_large', 'The request body is too large');
    case 'entity.parse.failed':
      return AppError.validation('request_body_malformed', 'The request body is not valid JSON');
    case 'encoding.unsupported':
      return new AppError(415, 'request_encoding_unsupported', 'Send the request body uncompressed: no Content-Encoding is accepted');
    case 'charset.unsupported':
      return new AppError(415, 'request_charset_unsupported', 'Send the request body in UTF-8 (charset=utf-8)');
    default:
      return AppError.validation('request_body_unreadable', 'The request body could not be read');
  }
}

/** Express's router cannot percent-decode a path parameter (`/users/%`): a 400 http-error. */
function isUndecodablePath(err: unknown): boolean {
  const candidate = err as { status?: unknown; message?: unknown } | null;
  return candidate?.status === 400 && typeof candidate.message === 'string' && candidate.message.startsWith('Failed to decode param');
}

function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (isUndecodablePath(err))
    return AppError.validation('request_path_malformed', 'The path holds invalid percent-encoding', [{ path: '/path', message: 'must be valid percent-encoded UTF-8' }]);
  if (isBodyParserError(err)) return fromBodyParser(err);
  if (isValidatorError(err)) return fromValidator(err);
  return null;
}

/** The request's id; a listener without request context (the management port) makes one for the answer. */
function requestIdOf(res: Response): string {
  const known = (requestLocals(res) as Partial<RequestLocals>).meta?.requestId;
  if (known) return known;
  const made = randomUUID();
  res.setHeader('X-Request-ID', made);
  return made;
}

/** The one error handler: every failure leaves as RFC 9457 problem+json. */
export function problemHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appError =
      toAppError(err) ?? (isDatabaseUnavailable(err) ? AppError.unavailable('database_unavailable', 'The database is unavailable; try again shortly') : internalError());
    if (appError.status >= 500) {
      // The raw error may hold internals (SQL, response-validation text): logs only, never the body.
      logger.error('request failed', { method: req.method, path: req.path, error: err instanceof Error ? err : String(err) });
    }
    if (res.headersSent) return;
    res.status(appError.status).set(appError.headers).type(PROBLEM_CONTENT_TYPE);
    res.json({
      type: appError.type,
      title: STATUS_CODES[appError.status] ?? 'Error',
      status: appError.status,
      detail: appError.detail,
      instance: req.originalUrl.split('?')[0],
      code: appError.code,
      request_id: requestIdOf(res),
      ...(appError.errors && appError.errors.length > 0 ? { errors: appError.errors } : {}),
    });
  };
}
