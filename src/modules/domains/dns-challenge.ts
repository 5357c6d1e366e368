import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as dns } from 'node:dns';
import type { DnsConfig } from '../../config/dns.js';

/** The label under the claimed domain whose TXT record proves the claim. */
export const CHALLENGE_LABEL = '_fm-auth-challenge';

/** What the TXT lookup found: the record's values, nothing (no such name or no TXT there), or no answer at all. */
export type ChallengeLookup = { kind: 'records'; values: string[] } | { kind: 'absent' } | { kind: 'failed'; code: string };

// The name exists without TXT records, or does not exist: the organization has not published it (yet).
const ABSENT = new Set(['ENODATA', 'ENOTFOUND']);

export function challengeName(domain: string): string {
  return `${CHALLENGE_LABEL}.${domain}`;
}

/** 256 random bits: public once published, but nobody can guess the value a claim needs before it is issued. */
export function newChallengeToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether one of the TXT values is the token (a long record comes in 255-byte strings, which join into one value). */
export function holdsToken(values: string[], token: string): boolean {
  const expected = Buffer.from(token);
  return values.some((value) => {
    const actual = Buffer.from(value);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  });
}

/** Reads challenge records through the configured resolvers (DNS_SERVERS), or the system's. */
export class DnsChallenges {
  private readonly resolver: dns.Resolver;

  constructor(config: DnsConfig) {
    this.resolver = new dns.Resolver({ timeout: config.timeoutMs, tries: 2 });
    if (config.servers) this.resolver.setServers(config.servers);
  }

  async lookup(domain: string): Promise<ChallengeLookup> {
    try {
      const records = await this.resolver.resolveTxt(challengeName(domain));
      return { kind: 'records', values: records.map((chunks) => chunks.join('')) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      return ABSENT.has(code) ? { kind: 'absent' } : { kind: 'failed', code };
    }
  }
}
