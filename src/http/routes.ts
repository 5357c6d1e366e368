import { type Request, type RequestHandler, type Response, Router } from 'express';
import { AppError } from '../core/errors.js';
import type { SpecOperation } from './openapi.js';
import { requestLocals } from './request-context.js';
import type { Handler, HandlerContext, Handlers, OperationId } from './types.js';

const leaveRouter: RequestHandler = (_req, _res, next) => next('router');

/**
 * Runs the middleware an operation asks for, before the validator. Each request meets only the
 * first operation it matches (the list puts concrete paths first), so public GET /sso/discover
 * is not taken for GET /sso/{sso_config_id}.
 */
export function perOperation(operations: SpecOperation[], middlewareOf: (operation: SpecOperation) => RequestHandler[]): Router {
  const router = Router();
  for (const operation of operations) router[operation.method](operation.expressPath, ...middlewareOf(operation), leaveRouter);
  return router;
}

/**
 * Bearer and permission checks for the operations whose spec `security` asks for a token. Before
 * the validator, so a caller without credentials or permission learns that first, not which field
 * was wrong.
 */
export function authenticationRouter(operations: SpecOperation[], requireBearer: RequestHandler, requireAccess: (operation: SpecOperation) => RequestHandler): Router {
  return perOperation(operations, (operation) => (operation.requiresBearer ? [requireBearer, requireAccess(operation)] : []));
}

function contextFor(req: Request, res: Response): HandlerContext<OperationId> {
  const locals = requestLocals(res);
  return {
    body: req.body as never,
    params: req.params as never,
    query: req.query,
    meta: locals.meta,
    accepts: (types) => req.accepts(types),
    principal: () => {
      if (!locals.principal) throw AppError.unauthorized('auth_credentials_missing', 'Authentication required');
      return locals.principal;
    },
  };
}

/** The spec is the routing table: each operation is served by the handler named by its operationId. */
export function operationRouter(operations: SpecOperation[], handlers: Handlers): Router {
  const router = Router();
  for (const operation of operations) {
    const handler = handlers[operation.operationId as OperationId] as Handler<OperationId> | undefined;
    if (!handler) throw new Error(`No handler for operation ${operation.operationId}`);
    router[operation.method](operation.expressPath, async (req, res) => {
      // Each handler's reply is typed against its own operation; here only the common shape matters.
      const reply: { status: number; body?: unknown; contentType?: string; headers?: Record<string, string> } = await handler(contextFor(req, res));
      res.status(reply.status);
      if (reply.headers) res.set(reply.headers);
      if (reply.body === undefined) res.end();
      else if (reply.contentType) res.type(reply.contentType).send(reply.body);
      else res.json(reply.body);
    });
  }
  return router;
}
