import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../http/errors.js';
import { requestLocals } from '../http/request-context.js';
import type { Sessions } from './sessions.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** Requires a live access token (RFC 6750 header form) and records the caller on the request. */
export function requireBearer(sessions: Sessions) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (!header) throw AppError.unauthorized('Authentication required: send an access token as "Authorization: Bearer <token>"');
    const match = BEARER.exec(header.trim());
    if (!match?.[1]) throw AppError.unauthorized('The Authorization header must be "Bearer <access token>"', 'invalid_token');
    requestLocals(res).principal = await sessions.authenticate(match[1]);
    next();
  };
}
