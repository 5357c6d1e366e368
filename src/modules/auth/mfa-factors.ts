import { eq, sql } from 'drizzle-orm';
import { newRecoveryCodes } from '../../auth/recovery-codes.js';
import type { Queryable } from '../../db/client.js';
import { qualified } from '../../db/qualified.js';
import { mfaRecoveryCodes, mfaTotpFactors, users, webauthnCredentials } from '../../db/schema.js';

/** The second factors a user has: a confirmed TOTP authenticator, passkeys, or both. */
export interface Factors {
  totp: boolean;
  passkeys: boolean;
}

export type ChallengeMethod = 'totp' | 'webauthn' | 'recovery_code';

/** Whether the `users` row of the query has a confirmed TOTP authenticator; and a passkey. */
export const hasConfirmedTotp = sql<boolean>`exists (select 1 from ${mfaTotpFactors} where ${qualified(mfaTotpFactors.userId)} = ${qualified(users.id)} and ${qualified(mfaTotpFactors.confirmedAt)} is not null)`;
export const hasPasskey = sql<boolean>`exists (select 1 from ${webauthnCredentials} where ${qualified(webauthnCredentials.userId)} = ${qualified(users.id)})`;

export async function factorsOf(db: Queryable, userId: string): Promise<Factors> {
  const [row] = await db.select({ totp: hasConfirmedTotp, passkeys: hasPasskey }).from(users).where(eq(users.id, userId));
  return { totp: row?.totp === true, passkeys: row?.passkeys === true };
}

export const hasAnyFactor = (factors: Factors): boolean => factors.totp || factors.passkeys;

/** What answers a verification challenge for a user with these factors. */
export function verificationMethods(factors: Factors): ChallengeMethod[] {
  return [...(factors.totp ? (['totp'] as const) : []), ...(factors.passkeys ? (['webauthn'] as const) : []), 'recovery_code'];
}

/** Ten new recovery codes in place of the user's earlier ones; answered once, kept hashed. */
export async function replaceRecoveryCodes(tx: Queryable, userId: string): Promise<string[]> {
  await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId));
  const { codes, hashes } = newRecoveryCodes();
  await tx.insert(mfaRecoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash })));
  return codes;
}

/** Recovery codes stand in for a factor: with the last factor gone, they go too. */
export async function dropRecoveryCodesWithoutFactor(tx: Queryable, userId: string): Promise<void> {
  if (hasAnyFactor(await factorsOf(tx, userId))) return;
  await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId));
}
