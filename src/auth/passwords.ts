import { readFileSync } from 'node:fs';
import { hash, verify } from '@node-rs/argon2';
import { AppError, type ProblemCode } from '../core/errors.js';
import { COMMON_PASSWORDS_FILE } from '../package-files.js';

// OWASP's first argon2id profile: 19 MiB, 2 passes, 1 lane (argon2id is the library default).
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const MIN_LENGTH = 8;
const MAX_LENGTH = 128;

/**
 * Hashing, verification and the NIST 800-63B password rules: length only, no
 * composition rules, refused when common or equal to the email.
 */
export class Passwords {
  private readonly common: ReadonlySet<string>;
  /** Verified against when the account does not exist, so both paths cost the same. */
  private dummyHash: Promise<string> | undefined;

  constructor(commonPasswords: Iterable<string>) {
    this.common = new Set(commonPasswords);
  }

  static withBundledList(): Passwords {
    const lines = readFileSync(COMMON_PASSWORDS_FILE, 'utf8').split('\n');
    return new Passwords(lines.map((line) => line.trim().toLowerCase()).filter((line) => line !== ''));
  }

  /** Throws a 422 naming the broken rule; the message never repeats the password. */
  assertAcceptable(password: string, email: string, field = 'password'): void {
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- the length rule counts code points (NIST SP 800-63B), not graphemes
    const length = [...password].length;
    const reject = (code: ProblemCode, message: string) => AppError.validation(code, message, [{ path: `/body/${field}`, message }]);
    if (length < MIN_LENGTH || length > MAX_LENGTH) {
      throw reject('password_length', `Password must be ${MIN_LENGTH} to ${MAX_LENGTH} characters long`);
    }
    const normalized = password.trim().toLowerCase();
    if (normalized === email.trim().toLowerCase()) throw reject('password_matches_email', 'Password must not be the same as the email address');
    if (this.common.has(normalized)) throw reject('password_too_common', 'Password is too common; choose a less predictable one');
  }

  hash(password: string): Promise<string> {
    return hash(password, ARGON2_OPTIONS);
  }

  /** Verifies against the stored hash, or against a dummy hash when there is none. */
  async verify(storedHash: string | null | undefined, password: string): Promise<boolean> {
    if (!storedHash) {
      this.dummyHash ??= this.hash('dummy password for timing equalisation');
      await verify(await this.dummyHash, password).catch(() => false);
      return false;
    }
    return verify(storedHash, password).catch(() => false);
  }
}
