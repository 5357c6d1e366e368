import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PrincipalCache } from '../../src/auth/principal-cache.js';
import type { Principal } from '../../src/core/principal.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';

const LATER = new Date('2100-01-01T00:00:00Z');

function principal(sessionId: string, overrides: Partial<Principal> = {}): Principal {
  return { userId: `user-${sessionId}`, organizationId: 'org-1', sessionId, email: 'a@example.com', isSuperadmin: false, permissions: new Set(), ...overrides };
}

function cache(options: { ttlSeconds?: number; maxEntries?: number } = {}) {
  const logger = createLogger({ environment: 'test', logLevel: 'error' }, { destination: new PassThrough() });
  return PrincipalCache.open({ ttlSeconds: options.ttlSeconds ?? 5, maxEntries: options.maxEntries ?? 100, metrics: new Metrics(), logger });
}

function remember(target: PrincipalCache, entry: Principal, expiresAt = LATER) {
  target.store(entry, expiresAt, target.version);
}

// The rules the API tests cannot time: eviction, expiry, and the race with an invalidation.
describe('PrincipalCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers a stored principal only for its own user', async () => {
    const subject = cache();
    remember(subject, principal('s1'));
    expect(subject.lookup('s1', 'user-s1')?.sessionId).toBe('s1');
    expect(subject.lookup('s1', 'someone-else')).toBeUndefined();
  });

  it('forgets an entry after the TTL, and at the session’s own expiry if that comes first', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const subject = cache({ ttlSeconds: 5 });
    remember(subject, principal('long'));
    remember(subject, principal('ending'), new Date(Date.now() + 2000));
    vi.advanceTimersByTime(2000);
    expect(subject.lookup('ending', 'user-ending')).toBeUndefined();
    expect(subject.lookup('long', 'user-long')).toBeDefined();
    vi.advanceTimersByTime(3000);
    expect(subject.lookup('long', 'user-long')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const subject = cache({ maxEntries: 2 });
    remember(subject, principal('a'));
    remember(subject, principal('b'));
    subject.lookup('a', 'user-a');
    remember(subject, principal('c'));
    expect(subject.size).toBe(2);
    expect(subject.lookup('b', 'user-b')).toBeUndefined();
    expect(subject.lookup('a', 'user-a')).toBeDefined();
    expect(subject.lookup('c', 'user-c')).toBeDefined();
  });

  it('invalidates by session, user, organization and everything', async () => {
    const subject = cache();
    remember(subject, principal('s1', { userId: 'u1' }));
    remember(subject, principal('s2', { userId: 'u1' }));
    remember(subject, principal('s3', { userId: 'u2' }));
    remember(subject, principal('s4', { userId: 'u3', organizationId: 'org-2' }));
    await subject.invalidate({ kind: 'session', id: 's3' });
    expect(subject.lookup('s3', 'u2')).toBeUndefined();
    await subject.invalidate({ kind: 'user', id: 'u1' });
    expect(subject.lookup('s1', 'u1') ?? subject.lookup('s2', 'u1')).toBeUndefined();
    expect(subject.lookup('s4', 'u3')).toBeDefined();
    await subject.invalidate({ kind: 'organization', id: 'org-2' });
    expect(subject.size).toBe(0);
    remember(subject, principal('s5'));
    await subject.invalidate({ kind: 'all' });
    expect(subject.size).toBe(0);
  });

  it('refuses to store what was read before an invalidation that came in meanwhile', async () => {
    const subject = cache();
    const readAt = subject.version;
    await subject.invalidate({ kind: 'user', id: 'user-s1' });
    subject.store(principal('s1'), LATER, readAt);
    expect(subject.lookup('s1', 'user-s1')).toBeUndefined();
  });

  it('stores nothing with a TTL of 0', async () => {
    const subject = cache({ ttlSeconds: 0 });
    remember(subject, principal('s1'));
    expect(subject.lookup('s1', 'user-s1')).toBeUndefined();
    expect(subject.size).toBe(0);
  });
});
