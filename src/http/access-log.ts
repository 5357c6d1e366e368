import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import { requestLocals } from './request-context.js';

/** The spec's path template matched by the validator; raw paths would carry ids into logs and labels. */
export function routeTemplate(req: Request): string {
  return (req as Request & { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute ?? 'unmatched';
}

/** One line per request, written when the response is finished. */
export function accessLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.on('finish', () => {
      const locals = requestLocals(res);
      logger.http('request', {
        method: req.method,
        route: routeTemplate(req),
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        request_id: locals.meta?.requestId,
        user_id: locals.principal?.userId,
        organization_id: locals.principal?.organizationId,
      });
    });
    next();
  };
}
