import { describe, expect, it } from 'vitest';
import { allowsPlainHttp, safeOAuthError } from '../../src/modules/sso/oauth.js';

describe('allowsPlainHttp: when openid-client may talk http to a provider', () => {
  it('allows a loopback provider outside production', () => {
    for (const url of ['http://127.0.0.1:4000', 'http://127.3.2.1/realms/test', 'http://localhost:8080/', 'http://[::1]:9000/.well-known/openid-configuration']) {
      expect(allowsPlainHttp(url, 'development'), url).toBe(true);
      expect(allowsPlainHttp(url, 'test'), url).toBe(true);
    }
  });

  it('never in production, never for another host, never for https (which needs no exception)', () => {
    expect(allowsPlainHttp('http://127.0.0.1:4000', 'production')).toBe(false);
    for (const url of ['http://idp.example', 'http://127.0.0.1.evil.example', 'http://10.0.0.5', 'http://localhost.evil.example', 'https://127.0.0.1:4000']) {
      expect(allowsPlainHttp(url, 'development'), url).toBe(false);
    }
  });
});

describe('safeOAuthError: what of a provider error code is repeated to the user', () => {
  it('repeats OAuth error codes and nothing else', () => {
    expect(safeOAuthError('access_denied')).toBe('access_denied');
    expect(safeOAuthError('<script>alert(1)</script>')).toBe('error');
    expect(safeOAuthError('x'.repeat(65))).toBe('error');
  });
});
