import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Metrics } from '../observability/metrics.js';
import { AppError } from '../core/errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * GET /metrics in the Prometheus text format. Outside the spec on purpose (it is not part of
 * the API), so it is mounted before the validator. With METRICS_TOKEN set, scrapers must send it
 * as a bearer token; the comparison is constant-time.
 */
export function metricsEndpoint(metrics: Metrics, token: string | null) {
  const expected = token === null ? null : digest(token);
  return async (req: Request, res: Response): Promise<void> => {
    if (expected) {
      const presented = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        throw AppError.unauthorized('metrics_token_invalid', 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"');
      }
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}
