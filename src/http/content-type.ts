import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../core/errors.js';

const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';

/**
 * Cuts the Content-Type header down to its media type, once the body parsers have read its
 * charset. express-openapi-validator compiles, and keeps for good, a request and a response
 * validator for each route and distinct Content-Type value, parameters included: a client varying
 * the header (`application/json; x=<random>`) made every request compile anew (tens of
 * milliseconds of CPU) and grew those caches without bound. So only the media types the spec
 * takes reach it: another media type with a body is refused (415), and without a body the header
 * means nothing and is dropped.
 */
export function canonicalContentType(accepted: ReadonlySet<string>) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers['content-type'];
    if (header !== undefined) {
      const mediaType = (header.split(';')[0] ?? '').trim().toLowerCase();
      if (accepted.has(mediaType)) req.headers['content-type'] = mediaType;
      else if (!hasBody(req)) delete req.headers['content-type'];
      else throw new AppError(415, 'request_media_type_unsupported', 'Send the request body as application/json');
    }
    next();
  };
}
