import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { oidcLogins, type OidcLoginRow } from '../../db/schema.js';

/** How long a login may be completed: a user signing in at the provider takes minutes, not hours. */
const LOGIN_TTL_MS = 10 * 60 * 1000;

/** Why a callback's `state` is refused; each protocol prefixes it into its problem code. */
export type LoginStateReason = 'unknown_state' | 'state_reused' | 'state_expired';

export class LoginStateRejection extends Error {
  constructor(
    readonly reason: LoginStateReason,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'LoginStateRejection';
  }
}

export interface StartedLogin {
  state: string;
  /** OpenID Connect only; a plain OAuth 2.0 login has no ID token to bind it to. */
  nonce: string | null;
  codeVerifier: string;
  redirectUri: string;
}

const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

/**
 * The authorization-code logins (OpenID Connect and plain OAuth 2.0) this service started, kept in
 * `oidc_logins` by the SHA-256 of their `state` (the state itself is never stored): each callback
 * is accepted once, for the configuration that started it, while fresh.
 */
export class LoginStates {
  constructor(private readonly db: Database) {}

  async remember(configId: string, login: StartedLogin): Promise<void> {
    // Expired logins are the retention job's to delete (in batches): spend() refuses them anyway.
    const now = Date.now();
    await this.db.insert(oidcLogins).values({
      stateHash: hashState(login.state),
      ssoConfigurationId: configId,
      nonce: login.nonce,
      codeVerifier: login.codeVerifier,
      redirectUri: login.redirectUri,
      expiresAt: new Date(now + LOGIN_TTL_MS),
    });
  }

  /** Uses up the login the callback answers, committed before the provider is asked: a refused answer cannot be tried again. */
  spend(configId: string, state: string): Promise<OidcLoginRow> {
    return this.db.transaction(async (tx) => {
      const [login] = await tx
        .select()
        .from(oidcLogins)
        .where(eq(oidcLogins.stateHash, hashState(state)))
        .for('update');
      if (login?.ssoConfigurationId !== configId) throw new LoginStateRejection('unknown_state', 'it does not answer a login this service started (state)');
      if (login.consumedAt) throw new LoginStateRejection('state_reused', 'this login was already completed');
      if (login.expiresAt.getTime() <= Date.now()) throw new LoginStateRejection('state_expired', 'the login has expired; sign in again');
      await tx.update(oidcLogins).set({ consumedAt: new Date() }).where(eq(oidcLogins.stateHash, login.stateHash));
      return login;
    });
  }
}
