import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { canonicalContentType } from '../../src/http/content-type.js';

const middleware = canonicalContentType(new Set(['application/json', 'application/x-www-form-urlencoded']));

/** The Content-Type the validator gets to see after the middleware, or the error it raised. */
function seen(headers: Record<string, string>): string | undefined | AppError {
  const req = { headers } as unknown as Request;
  try {
    let called = false;
    middleware(req, {} as unknown as Response, () => (called = true));
    expect(called).toBe(true);
    return req.headers['content-type'];
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
}

describe('canonicalContentType', () => {
  it('hands the validator one header per media type the spec takes, whatever its parameters', () => {
    expect(seen({ 'content-type': 'application/json; x=1' })).toBe('application/json');
    expect(seen({ 'content-type': 'Application/JSON;charset=UTF-8; q=9' })).toBe('application/json');
    expect(seen({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })).toBe('application/x-www-form-urlencoded');
    expect(seen({})).toBeUndefined();
  });

  it('drops another media type on a request without a body and refuses it with one', () => {
    expect(seen({ 'content-type': 'text/x-anything' })).toBeUndefined();
    expect(seen({ 'content-type': 'text/x-anything', 'content-length': '0' })).toBeUndefined();
    const bodies: Record<string, string>[] = [{ 'content-length': '7' }, { 'transfer-encoding': 'chunked' }];
    for (const body of bodies) {
      const refused = seen({ 'content-type': 'application/x-anything', ...body });
      expect(refused).toBeInstanceOf(AppError);
      expect((refused as AppError).code).toBe('request_media_type_unsupported');
    }
  });
});
