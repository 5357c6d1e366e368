import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  const logger = createLogger({ environment: 'production', logLevel: 'debug' }, { destination: sink });
  return { logger, output: () => lines.join('') };
}

describe('logger redaction', () => {
  it('replaces secret fields at any depth and masks emails and JWTs in text', async () => {
    const { logger, output } = capture();
    const jwtLike = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    logger.info('login for grace.hopper@navy.example', {
      password: 'hunter2-hunter2',
      nested: { refresh_token: 'r-123456', headers: { authorization: 'Bearer abc' }, note: `token ${jwtLike}` },
      SAMLResponse: 'PHNhbWxwOlJlc3BvbnNlPg==',
    });
    await new Promise((resolve) => setImmediate(resolve));
    const text = output();
    const line = JSON.parse(text);
    expect(line.message).toBe('login for g***@navy.example');
    expect(line.password).toBe('[REDACTED]');
    expect(line.nested.refresh_token).toBe('[REDACTED]');
    expect(line.nested.headers.authorization).toBe('[REDACTED]');
    expect(line.SAMLResponse).toBe('[REDACTED]');
    for (const secret of ['hunter2', 'r-123456', 'Bearer abc', jwtLike, 'grace.hopper', 'PHNhbWxw']) expect(text).not.toContain(secret);
  });
});

describe('logger and failed queries', () => {
  it('logs the statement of a failed query but never its parameters', async () => {
    const { logger, output } = capture();
    const failed = Object.assign(new Error('Failed query: update "users" set "password_hash" = $1\nparams: $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA,ada@example.com'), {
      name: 'DrizzleQueryError',
      query: 'update "users" set "password_hash" = $1',
      params: ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 'ada@example.com'],
      cause: Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
    });
    logger.error('request failed', { error: failed, note: 'hash $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA in free text' });
    await new Promise((resolve) => setImmediate(resolve));
    const line = JSON.parse(output());
    expect(line.error).toEqual({ name: 'DrizzleQueryError', message: 'Failed query: update "users" set "password_hash" = $1', code: '22021' });
    expect(output()).not.toContain('$argon2');
    expect(output()).not.toContain('ada@example.com');
  });
});
