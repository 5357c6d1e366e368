import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { LoginThrottle } from '../../auth/login-throttle.js';
import type { AuthenticationMethod, TokenPair } from '../../auth/sessions.js';
import {
  type AssertionAnswer,
  CEREMONY_TIMEOUT_SECONDS,
  type CreationOptions,
  type DeviceType,
  type NewPasskey,
  type RegistrationAnswer,
  type RequestOptions,
  type WebAuthn,
  WebAuthnRejection,
} from '../../auth/webauthn.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database, Queryable } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { organizations, sessions, users, webauthnCredentials, webauthnRegistrations } from '../../db/schema.js';
import { type LoginUser, loginUserOf, recordUserEvent } from './login-session.js';
import type { MfaChallenges } from './mfa-challenges.js';
import { dropRecoveryCodesWithoutFactor, factorsOf, hasAnyFactor, replaceRecoveryCodes } from './mfa-factors.js';

export interface PasskeyDependencies {
  db: Database;
  webauthn: WebAuthn;
  challenges: MfaChallenges;
  audit: AuditLog;
  throttle: LoginThrottle;
}

export interface Passkey {
  id: string;
  name: string;
  deviceType: DeviceType;
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

type PasskeyRow = typeof webauthnCredentials.$inferSelect;

const MAX_PASSKEYS = 20;
const PASSKEY_INVALID = 'The passkey could not be verified; try again';

function toPasskey(row: PasskeyRow): Passkey {
  return {
    id: row.id,
    name: row.name,
    deviceType: row.deviceType as DeviceType,
    backedUp: row.backedUp,
    transports: row.transports,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
  };
}

/** A credential id registered already (by anyone) is a 409. */
async function uniqueCredential<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw AppError.conflict('passkey_already_registered', 'already exists: this passkey is registered already');
    throw error;
  }
}

/** RFC 8176: `hwk` for a key bound to one device, `swk` for a synced passkey (its key lives in software the vendor syncs). */
function amrOf(deviceType: DeviceType): AuthenticationMethod[] {
  return ['pwd', deviceType === 'single_device' ? 'hwk' : 'swk', 'mfa'];
}

/**
 * Passkeys (WebAuthn) as a second factor: registration by a logged-in user, the list, removal,
 * and the answer to a login's challenge. Every ceremony's challenge is stored and accepted once.
 */
export class PasskeyService {
  private readonly db: Database;
  private readonly webauthn: WebAuthn;
  private readonly challenges: MfaChallenges;
  private readonly audit: AuditLog;
  private readonly throttle: LoginThrottle;

  constructor(dependencies: PasskeyDependencies) {
    this.db = dependencies.db;
    this.webauthn = dependencies.webauthn;
    this.challenges = dependencies.challenges;
    this.audit = dependencies.audit;
    this.throttle = dependencies.throttle;
  }

  /** Creation options for the browser; the user's other passkeys are excluded, so one authenticator is not registered twice. */
  registrationOptions(principal: Principal): Promise<CreationOptions> {
    return this.startRegistration(loginUserOf(principal));
  }

  /** Stores the passkey the browser made from the latest options; the user's first factor comes with ten recovery codes. */
  async register(principal: Principal, name: string | undefined, response: RegistrationAnswer, meta: RequestMeta): Promise<{ passkey: Passkey; recoveryCodes: string[] | null }> {
    const user = loginUserOf(principal);
    const created = await this.verifyRegistration(user, response, meta);
    return uniqueCredential(() => this.db.transaction((tx) => this.store(tx, user, name, created, meta)));
  }

  /** The enrolment an organization's `require_mfa` asks of a user without a factor, with a passkey, authorized by the login's challenge. */
  async registrationOptionsForChallenge(challengeToken: string, meta: RequestMeta): Promise<CreationOptions> {
    const { user } = await this.challenges.open(challengeToken, 'enrol', meta);
    return this.startRegistration(user);
  }

  /** Registers the passkey, spends the challenge and starts the login's session, with the recovery codes. */
  async registerForChallenge(
    challengeToken: string,
    name: string | undefined,
    response: RegistrationAnswer,
    meta: RequestMeta,
  ): Promise<{ tokens: TokenPair; recoveryCodes: string[] }> {
    const challenge = await this.challenges.open(challengeToken, 'enrol', meta);
    const { user } = challenge;
    const created = await this.verifyRegistration(user, response, meta, () => this.challenges.countFailure(challenge.id));
    return uniqueCredential(() =>
      this.db.transaction(async (tx) => {
        await this.challenges.consume(tx, challenge, meta);
        const stored = await this.store(tx, user, name, created, meta);
        // A factor enrolled meanwhile (through another session) kept its codes: this login shows new ones.
        const recoveryCodes = stored.recoveryCodes ?? (await replaceRecoveryCodes(tx, user.id));
        return { tokens: await this.challenges.startSession(tx, user, amrOf(created.deviceType), meta), recoveryCodes };
      }),
    );
  }

  private async startRegistration(user: LoginUser): Promise<CreationOptions> {
    const [account] = await this.db.select({ fullName: users.fullName }).from(users).where(eq(users.id, user.id));
    const existing = await this.rowsOf(user.id);
    if (existing.length >= MAX_PASSKEYS) throw AppError.conflict('passkey_limit_reached', `You hold ${MAX_PASSKEYS} passkeys, the most one account may: remove one first`);
    const options = await this.webauthn.registrationOptions({ id: user.id, email: user.email, fullName: account?.fullName ?? user.email }, existing);
    const expiresAt = new Date(Date.now() + CEREMONY_TIMEOUT_SECONDS * 1000);
    await this.db
      .insert(webauthnRegistrations)
      .values({ userId: user.id, challenge: options.challenge, expiresAt })
      .onConflictDoUpdate({ target: webauthnRegistrations.userId, set: { challenge: options.challenge, expiresAt } });
    return options;
  }

  /** The browser's answer checked against the latest options' challenge, which it spends either way. */
  private async verifyRegistration(user: LoginUser, response: RegistrationAnswer, meta: RequestMeta, onWrong?: () => Promise<void>): Promise<NewPasskey> {
    const [pending] = await this.db
      .delete(webauthnRegistrations)
      .where(and(eq(webauthnRegistrations.userId, user.id), gt(webauthnRegistrations.expiresAt, sql`now()`)))
      .returning({ challenge: webauthnRegistrations.challenge });
    if (!pending) throw AppError.conflict('passkey_registration_not_started', 'There is no passkey registration under way (or it expired): ask for registration options first');
    try {
      return await this.webauthn.verifyRegistration(response, pending.challenge);
    } catch (error) {
      if (!(error instanceof WebAuthnRejection)) throw error;
      await onWrong?.();
      await recordUserEvent(this.audit, this.db, meta, user, { eventType: 'mfa.passkey_register', status: 'failure', context: { reason: error.reason } });
      throw AppError.validation('passkey_registration_invalid', 'The browser’s answer does not prove a new passkey for these options; ask for new options and try again');
    }
  }

  private async store(
    tx: Queryable,
    user: LoginUser,
    name: string | undefined,
    created: NewPasskey,
    meta: RequestMeta,
  ): Promise<{ passkey: Passkey; recoveryCodes: string[] | null }> {
    const firstFactor = !hasAnyFactor(await factorsOf(tx, user.id));
    const [row] = await tx
      .insert(webauthnCredentials)
      .values({ userId: user.id, name: name ?? 'Passkey', ...created })
      .returning();
    if (!row) throw new Error('passkey insert returned no row');
    const recoveryCodes = firstFactor ? await replaceRecoveryCodes(tx, user.id) : null;
    await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.passkey_register', status: 'success', context: { passkey_id: row.id, device_type: row.deviceType } });
    return { passkey: toPasskey(row), recoveryCodes };
  }

  async list(principal: Principal, page: PageRequest): Promise<Page<Passkey>> {
    const { items, total } = await paginate(
      this.db,
      webauthnCredentials,
      eq(webauthnCredentials.userId, principal.userId),
      [asc(webauthnCredentials.createdAt), asc(webauthnCredentials.id)],
      page,
    );
    return { items: items.map(toPasskey), total };
  }

  /**
   * Removes a passkey. A stolen access token must not strip the account's second factor, so the
   * caller's session must have been started with one (`mfa` in its amr); the organization's
   * `require_mfa` keeps the last factor.
   */
  async remove(principal: Principal, passkeyId: string, meta: RequestMeta): Promise<void> {
    const user = loginUserOf(principal);
    const [passkey] = await this.db
      .select({ id: webauthnCredentials.id })
      .from(webauthnCredentials)
      .where(and(eq(webauthnCredentials.id, passkeyId), eq(webauthnCredentials.userId, user.id)));
    if (!passkey) throw AppError.notFound('passkey_not_found', 'No such passkey');
    const [session] = await this.db.select({ amr: sessions.amr }).from(sessions).where(eq(sessions.id, principal.sessionId));
    if (!session?.amr.includes('mfa')) {
      await recordUserEvent(this.audit, this.db, meta, user, {
        eventType: 'mfa.passkey_remove',
        status: 'denied',
        context: { passkey_id: passkey.id, reason: 'step_up_required' },
      });
      throw AppError.forbidden('mfa_step_up_required', 'Log in with your second factor first: only such a session may remove a passkey');
    }
    await this.db.transaction(async (tx) => {
      await tx.delete(webauthnCredentials).where(eq(webauthnCredentials.id, passkey.id));
      const [organization] = await tx.select({ requireMfa: organizations.requireMfa }).from(organizations).where(eq(organizations.id, user.organizationId));
      if (organization?.requireMfa && !hasAnyFactor(await factorsOf(tx, user.id))) {
        throw AppError.forbidden('mfa_required_by_organization', 'Your organization requires two-factor authentication: the last factor cannot be removed');
      }
      await dropRecoveryCodesWithoutFactor(tx, user.id);
      await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.passkey_remove', status: 'success', context: { passkey_id: passkey.id } });
    });
  }

  /** Request options for answering a login's challenge with one of the user's passkeys; the newest options replace earlier ones. */
  async loginOptions(challengeToken: string, meta: RequestMeta): Promise<RequestOptions> {
    const challenge = await this.challenges.open(challengeToken, 'verify', meta);
    const passkeys = await this.rowsOf(challenge.user.id);
    if (passkeys.length === 0) throw AppError.conflict('passkey_none_registered', 'This account has no passkey: answer with a code instead');
    const options = await this.webauthn.authenticationOptions(passkeys);
    await this.challenges.expectWebAuthn(challenge.id, options.challenge);
    return options;
  }

  /** Completes a login's challenge with a passkey's signature over the latest options' challenge. */
  async verify(challengeToken: string, response: AssertionAnswer, meta: RequestMeta): Promise<TokenPair> {
    const challenge = await this.challenges.open(challengeToken, 'verify', meta);
    const { user } = challenge;
    const attempt = await this.throttle.beginSecondFactor(user.id, meta);
    const [passkey] = await this.db
      .select()
      .from(webauthnCredentials)
      .where(and(eq(webauthnCredentials.credentialId, response.id), eq(webauthnCredentials.userId, user.id)));
    const refuse = async (reason: string): Promise<never> => {
      await attempt.failed();
      await this.challenges.countFailure(challenge.id);
      await recordUserEvent(this.audit, this.db, meta, user, { eventType: 'mfa.verify', status: 'failure', context: { method: 'webauthn', reason } });
      throw AppError.unauthorized('mfa_passkey_invalid', PASSKEY_INVALID);
    };
    if (challenge.webauthnChallenge === null) return refuse('no_options');
    if (!passkey) return refuse('unknown_passkey');
    let use;
    try {
      use = await this.webauthn.verifyAuthentication(response, challenge.webauthnChallenge, passkey);
    } catch (error) {
      if (!(error instanceof WebAuthnRejection)) throw error;
      return refuse(error.reason);
    }
    // The counter only moves forward: of two answers verified against the same stored counter, one wins.
    const [spent] = await this.db
      .update(webauthnCredentials)
      .set({ signCount: use.signCount, backedUp: use.backedUp, lastUsedAt: new Date() })
      .where(and(eq(webauthnCredentials.id, passkey.id), eq(webauthnCredentials.signCount, passkey.signCount)))
      .returning({ id: webauthnCredentials.id });
    if (!spent) return refuse('counter_raced');
    await attempt.succeeded();
    return this.challenges.complete(challenge, amrOf(use.deviceType), 'webauthn', meta);
  }

  private rowsOf(userId: string): Promise<PasskeyRow[]> {
    return this.db.select().from(webauthnCredentials).where(eq(webauthnCredentials.userId, userId)).orderBy(webauthnCredentials.createdAt, webauthnCredentials.id);
  }
}
