import type { components } from '../../generated/openapi.js';

/** The spec's list of reasons (`ProblemCode`): a code missing there is a compile error here. */
export type ProblemCode = components['schemas']['ProblemCode'];

export interface FieldError {
  path: string;
  message: string;
}

interface AppErrorOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** The problem type's last word, when the status's usual one is not it. */
  type?: string;
}

// The problem `type` names the kind (clients of the old service match on it); `code` says exactly why.
const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  408: 'request-timeout',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'validation-failed',
  429: 'rate-limited',
  431: 'headers-too-large',
  500: 'internal',
  503: 'service-unavailable',
};

const PROBLEM_TYPE_PREFIX = 'urn:fm-auth:problem:';

/** The problem type URN of a status (`urn:fm-auth:problem:not-found`). */
export function problemType(status: number, type?: string): string {
  return `${PROBLEM_TYPE_PREFIX}${type ?? TYPE_BY_STATUS[status] ?? 'request-rejected'}`;
}

/**
 * The one error type of the service. `code` is the spec's reason, `detail` is shown to the client
 * as is: it must never carry a secret, a token or internal text.
 */
export class AppError extends Error {
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly type: string;

  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.type = problemType(status, options.type);
  }

  /** RFC 6750: a bad token names `invalid_token`; missing or non-token credentials name no error. */
  static unauthorized(code: ProblemCode, detail: string, bearerError?: 'invalid_token'): AppError {
    const challenge = bearerError ? `Bearer error="${bearerError}"` : 'Bearer';
    return new AppError(401, code, detail, { headers: { 'WWW-Authenticate': challenge } });
  }

  static forbidden(code: ProblemCode, detail: string): AppError {
    return new AppError(403, code, detail);
  }

  static notFound(code: ProblemCode, detail: string): AppError {
    return new AppError(404, code, detail);
  }

  static conflict(code: ProblemCode, detail: string): AppError {
    return new AppError(409, code, detail);
  }

  static validation(code: ProblemCode, detail: string, errors?: FieldError[]): AppError {
    return new AppError(422, code, detail, { errors });
  }

  static unavailable(code: ProblemCode, detail: string): AppError {
    return new AppError(503, code, detail, { headers: { 'Retry-After': '5' } });
  }
}
