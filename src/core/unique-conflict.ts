import { isUniqueViolation, violatedUniqueIndex } from '../db/errors.js';
import { AppError } from './errors.js';

/** What a unique index guards, told the way the old service's clients match on ("already exists"). */
const CONFLICTS = {
  user_email_taken: 'already exists: a user with this email address',
  organization_slug_taken: 'already exists: an organization with this slug',
  team_slug_taken: 'already exists: a team with this slug in the organization',
  role_name_taken: 'already exists: a role with this name in the organization',
  domain_already_claimed: 'already exists: a claim of this domain by the organization',
  domain_verified_elsewhere: 'already exists: another organization verified this domain',
} as const;

export type UniqueConflict = keyof typeof CONFLICTS;

export function conflictError(code: UniqueConflict): AppError {
  return AppError.conflict(code, CONFLICTS[code]);
}

/**
 * Runs `work` and turns a unique violation into the 409 of `conflict` (or of the index it names):
 * the database decides races that a check-then-insert would lose.
 */
export async function withUniqueConflict<T>(conflict: UniqueConflict | ((index: string | undefined) => UniqueConflict), work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    throw conflictError(typeof conflict === 'function' ? conflict(violatedUniqueIndex(err)) : conflict);
  }
}
