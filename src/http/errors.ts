export interface FieldError {
  path: string;
  message: string;
}

interface AppErrorOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
}

/**
 * The one error type of the service. `code` becomes the problem type URN, `detail` is
 * shown to the client as is: it must never carry a secret, a token or internal text.
 */
export class AppError extends Error {
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  /** RFC 6750: a bad token names `invalid_token`; missing or non-token credentials name no error. */
  static unauthorized(detail: string, bearerError?: 'invalid_token'): AppError {
    const challenge = bearerError ? `Bearer error="${bearerError}"` : 'Bearer';
    return new AppError(401, 'unauthorized', detail, { headers: { 'WWW-Authenticate': challenge } });
  }

  static forbidden(detail: string): AppError {
    return new AppError(403, 'forbidden', detail);
  }

  static notFound(detail: string): AppError {
    return new AppError(404, 'not-found', detail);
  }

  static conflict(detail: string): AppError {
    return new AppError(409, 'conflict', detail);
  }

  static validation(detail: string, errors?: FieldError[]): AppError {
    return new AppError(422, 'validation-failed', detail, { errors });
  }

  static unavailable(detail: string): AppError {
    return new AppError(503, 'service-unavailable', detail, { headers: { 'Retry-After': '5' } });
  }
}
