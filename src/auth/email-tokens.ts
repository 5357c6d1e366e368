import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/client.js';
import { type EmailTokenRow, emailTokens } from '../db/schema.js';
import { hashRefreshToken, newRefreshToken } from './tokens.js';

/** The links mailed to a user; `domain_verification` goes to an address at a claimed domain, which may belong to nobody here. */
export type UserTokenPurpose = 'password_reset' | 'email_verification' | 'invitation';
export type EmailTokenPurpose = UserTokenPurpose | 'domain_verification';

/** A user's token: the table's check constraint ties every user purpose to a user. */
export type UserTokenRow = EmailTokenRow & { userId: string };
/** A domain claim's token, tied to the claim the same way. */
export type DomainTokenRow = EmailTokenRow & { organizationDomainId: string };

/**
 * How long a link stays valid: a reset link is a password for an hour, a verification link proves
 * less, an invitation waits a week for its reader, and a domain confirmation three days for whoever
 * reads the domain's administrative mailbox.
 */
export const EMAIL_TOKEN_TTL_SECONDS: Readonly<Record<EmailTokenPurpose, number>> = {
  password_reset: 3600,
  email_verification: 48 * 3600,
  invitation: 7 * 24 * 3600,
  domain_verification: 72 * 3600,
};

const usable = (purpose: EmailTokenPurpose, hash: string) =>
  and(eq(emailTokens.tokenHash, hash), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, sql`now()`));

/**
 * The single-use tokens of links sent by mail: 256 random bits, stored only as their SHA-256 (a
 * database leak hands out no working link), looked up by hash so no comparison leaks timing.
 */
export class EmailTokens {
  constructor(private readonly db: Database) {}

  issue(db: Queryable, userId: string, purpose: UserTokenPurpose, email: string): Promise<string> {
    return this.insert(db, { userId }, purpose, email);
  }

  /** The confirmation of a domain claim, mailed to `email` at the domain. */
  issueForDomain(db: Queryable, organizationDomainId: string, email: string): Promise<string> {
    return this.insert(db, { organizationDomainId }, 'domain_verification', email);
  }

  /** The token's row while it is unused and unexpired, without spending it. */
  async peek(token: string, purpose: UserTokenPurpose): Promise<UserTokenRow | undefined> {
    const [row] = await this.db
      .select()
      .from(emailTokens)
      .where(usable(purpose, hashRefreshToken(token)));
    return row as UserTokenRow | undefined;
  }

  /** Spends the token: of two concurrent uses only one gets the row. */
  async spend(db: Queryable, token: string, purpose: UserTokenPurpose): Promise<UserTokenRow | undefined> {
    return (await this.spendRow(db, token, purpose)) as UserTokenRow | undefined;
  }

  async spendForDomain(db: Queryable, token: string): Promise<DomainTokenRow | undefined> {
    return (await this.spendRow(db, token, 'domain_verification')) as DomainTokenRow | undefined;
  }

  private async insert(db: Queryable, owner: { userId: string } | { organizationDomainId: string }, purpose: EmailTokenPurpose, email: string): Promise<string> {
    const { token, hash } = newRefreshToken();
    const expiresAt = new Date(Date.now() + EMAIL_TOKEN_TTL_SECONDS[purpose] * 1000);
    await db.insert(emailTokens).values({ ...owner, purpose, tokenHash: hash, email, expiresAt });
    return token;
  }

  private async spendRow(db: Queryable, token: string, purpose: EmailTokenPurpose): Promise<EmailTokenRow | undefined> {
    const [row] = await db
      .update(emailTokens)
      .set({ usedAt: new Date() })
      .where(usable(purpose, hashRefreshToken(token)))
      .returning();
    return row;
  }

  /** Spends every other open token of the user for this purpose (after a reset, older reset links die). */
  async spendAll(db: Queryable, userId: string, purpose: UserTokenPurpose): Promise<void> {
    await db
      .update(emailTokens)
      .set({ usedAt: new Date() })
      .where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt)));
  }
}
