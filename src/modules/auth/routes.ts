import type { TokenPair } from '../../auth/sessions.js';
import type { LoginChallenge } from './mfa-challenges.js';
import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { toUser } from '../../http/user-view.js';

export function toTokenPair(tokens: TokenPair): Schemas['TokenPair'] {
  return {
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: 'bearer',
    expires_in: tokens.expiresIn,
  };
}

function toMfaChallenge(challenge: LoginChallenge): Schemas['MfaChallenge'] {
  return {
    mfa_required: true,
    mfa_enrollment_required: challenge.enrolmentRequired,
    challenge_token: challenge.challengeToken,
    methods: challenge.methods,
    expires_in: challenge.expiresIn,
  };
}

type AuthOperation = 'register' | 'login' | 'refreshTokens' | 'logout' | 'getCurrentUser' | 'changePassword';

export function authHandlers({ sessions, services: { auth } }: Container): HandlersFor<AuthOperation> {
  return {
    async register({ body, meta }) {
      const registration = await auth.register(
        {
          email: body.email,
          password: body.password,
          fullName: body.full_name,
          organizationName: body.organization_name,
          organizationSlug: body.organization_slug,
          organizationId: body.organization_id,
        },
        meta,
      );
      if (registration.concealed) return { status: 202, body: { message: 'Check your inbox to finish registering' } };
      return { status: 201, body: { message: 'User registered successfully', ...toUser(registration.user) } };
    },

    async login({ body, meta }) {
      const outcome = await auth.login(body.email, body.password, meta);
      return { status: 200, body: 'challengeToken' in outcome ? toMfaChallenge(outcome) : toTokenPair(outcome) };
    },

    async refreshTokens({ body, meta }) {
      return { status: 200, body: toTokenPair(await sessions.refresh(body.refresh_token, meta)) };
    },

    async logout({ principal, meta }) {
      await sessions.logout(principal(), meta);
      return { status: 200, body: { message: 'Successfully logged out' } };
    },

    async getCurrentUser({ principal }) {
      const { user, roles, permissions, mfaEnabled } = await auth.currentUser(principal());
      const { id, email, full_name, organization_id, team_id, is_active, is_verified, sso_provider } = toUser(user);
      return {
        status: 200,
        body: { id, email, full_name, organization_id, team_id, is_active, is_verified, sso_provider, roles, permissions, mfa_enabled: mfaEnabled },
      };
    },

    async changePassword({ body, principal, meta }) {
      await auth.changePassword(principal(), body.current_password, body.new_password, meta);
      return { status: 204 };
    },
  };
}
