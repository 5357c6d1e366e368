import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessTokens } from '../../src/auth/tokens.js';
import { AppError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/config/index.js';
import { TEST_JWT_SECRET } from '../helpers/server.js';

const SUBJECT = {
  userId: '6f1c2a9e-0b7d-4e3f-9a1c-2b3d4e5f6a7b',
  email: 'ada@example.com',
  organizationId: '0c5e8a1b-2f4d-4b6a-8c9e-1a2b3c4d5e6f',
  sessionId: '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e',
  amr: ['pwd'],
};

const tokensWith = (env: Record<string, string> = {}) => new AccessTokens(loadConfig({ JWT_SECRET_KEY: TEST_JWT_SECRET, ACCESS_TOKEN_EXPIRE_MINUTES: '1', ...env }).jwt);

const codeOf = (verification: Promise<unknown>) =>
  verification.then(
    () => 'verified',
    (error: unknown) => (error instanceof AppError ? error.code : 'thrown'),
  );

afterEach(() => {
  vi.useRealTimers();
});

describe('AccessTokens.verify', () => {
  it('answers the same claims for a token seen before, and still refuses it once it expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const tokens = tokensWith();
    const { token } = await tokens.issue(SUBJECT);
    const first = await tokens.verify(token);
    expect(await tokens.verify(token)).toEqual(first);
    expect(first).toMatchObject({ sub: SUBJECT.userId, sid: SUBJECT.sessionId, amr: ['pwd'] });

    vi.setSystemTime(Date.now() + 59_000);
    expect(await codeOf(tokens.verify(token))).toBe('verified');
    vi.setSystemTime(Date.now() + 1_000);
    expect(await codeOf(tokens.verify(token))).toBe('token_expired');
    expect(await codeOf(tokens.verify(token))).toBe('token_expired');
  });

  it('refuses a token differing from a verified one in one signature character, and one signed with another key', async () => {
    const tokens = tokensWith();
    const { token } = await tokens.issue(SUBJECT);
    await tokens.verify(token);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    expect(await codeOf(tokens.verify(`${token.slice(0, -2)}${last}${token.slice(-1)}`))).toBe('token_invalid');
    const foreign = await tokensWith({ JWT_SECRET_KEY: 'another-signing-key-0123456789abcdefghijklmnop' }).issue(SUBJECT);
    expect(await codeOf(tokens.verify(foreign.token))).toBe('token_invalid');
  });
});
