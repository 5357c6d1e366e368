import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { requestLocals } from './request-context.js';

/** The spec's path template matched by the validator; raw paths would carry ids into logs and labels. */
function routeTemplate(req: Request): string {
  const { openapi, route } = req as { openapi?: { openApiRoute?: string }; route?: { path?: unknown } };
  return openapi?.openApiRoute ?? (typeof route?.path === 'string' ? route.path : 'unmatched');
}

/** One access log line and the HTTP metrics per request, written when the response is finished. */
export function observeRequests(logger: Logger, metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    logger.debug('request received', { method: req.method, path: req.path });
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const route = routeTemplate(req);
      const locals = requestLocals(res);
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      logger.info('request', {
        method: req.method,
        route,
        status: res.statusCode,
        duration_ms: Math.round(seconds * 100_000) / 100,
        request_id: locals.meta.requestId,
        user_id: locals.principal?.userId,
        organization_id: locals.principal?.organizationId,
      });
    });
    next();
  };
}
