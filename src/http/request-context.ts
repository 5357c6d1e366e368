import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { RequestScope } from '../observability/request-scope.js';
import type { Principal } from '../core/principal.js';
import type { RequestMeta } from '../core/request-meta.js';

// Accept a client's id only when it cannot smuggle anything into logs.
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Per-request state, kept on res.locals (Express's request-scoped bag). */
export interface RequestLocals {
  meta: RequestMeta;
  principal?: Principal;
}

export function requestLocals(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

/** Gives every request an id (the client's X-Request-ID when well-formed), echoes it back and scopes its logs. */
export function requestContext(scope: RequestScope) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const offered = req.get('x-request-id');
    const requestId = offered && WELL_FORMED_REQUEST_ID.test(offered) ? offered : randomUUID();
    res.setHeader('X-Request-ID', requestId);
    requestLocals(res).meta = { requestId, ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
    scope.run(requestId, next);
  };
}
