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
