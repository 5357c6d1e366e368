import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
// No 0/o, 1/l/i: the codes are read off paper. 31 symbols, 10 of them: about 49 bits each, and
// every guess goes through the login throttle.
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const GROUP = 5;

function normalize(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

function hash(code: string): Buffer {
  return createHash('sha256').update(normalize(code), 'utf8').digest();
}

function newCode(): string {
  const symbols = Array.from({ length: GROUP * 2 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return `${symbols.slice(0, GROUP)}-${symbols.slice(GROUP)}`;
}

/** A fresh set of recovery codes, shown once, and their SHA-256 (hex) that the database keeps. */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  return { codes, hashes: codes.map((code) => hash(code).toString('hex')) };
}

/** The id of the stored hash the presented code matches, compared in constant time, or undefined. */
export function matchRecoveryCode(presented: string, stored: readonly { id: string; codeHash: string }[]): string | undefined {
  const candidate = hash(presented);
  let matched: string | undefined;
  for (const row of stored) {
    if (timingSafeEqual(candidate, Buffer.from(row.codeHash, 'hex')) && matched === undefined) matched = row.id;
  }
  return matched;
}
