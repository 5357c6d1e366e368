import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessControl } from '../auth/access.js';
import { AppError } from '../core/errors.js';
import type { SpecOperation } from './openapi.js';
import { requestLocals } from './request-context.js';
import type { Sessions } from '../auth/sessions.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** Requires a live access token (RFC 6750 header form) and records the caller on the request. */
export function requireBearer(sessions: Sessions) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (!header) throw AppError.unauthorized('auth_credentials_missing', 'Authentication required: send an access token as "Authorization: Bearer <token>"');
    const match = BEARER.exec(header.trim());
    if (!match?.[1]) throw AppError.unauthorized('auth_header_malformed', 'The Authorization header must be "Bearer <access token>"', 'invalid_token');
    requestLocals(res).principal = await sessions.authenticate(match[1]);
    next();
  };
}

/**
 * The operation's `x-permission` (or `x-platform`), checked before the validator and the handler:
 * services keep only the checks that depend on the object they act on.
 */
export function requireOperationAccess(access: AccessControl, operation: SpecOperation): RequestHandler {
  const { permission, platformOnly } = operation;
  return async (_req, res, next) => {
    const { principal, meta } = requestLocals(res);
    if (!principal) throw AppError.unauthorized('auth_credentials_missing', 'Authentication required');
    if (permission && platformOnly) await access.requireSuperadmin(principal, permission, meta);
    else if (permission) await access.require(principal, permission, meta);
    next();
  };
}
