import type { Container } from '../../container.js';
import type { HandlersFor } from '../../http/types.js';

type RecoveryOperation = 'requestPasswordReset' | 'confirmPasswordReset' | 'verifyEmail' | 'resendVerificationEmail' | 'acceptInvitation';

// Told whether or not the address has an account: the answer must not say which.
const MAIL_REQUESTED = { message: 'If an account with this address can receive this mail, it is on its way' };

export function recoveryHandlers({ services: { recovery } }: Container): HandlersFor<RecoveryOperation> {
  return {
    async requestPasswordReset({ body, meta }) {
      await recovery.requestPasswordReset(body.email, meta);
      return { status: 202, body: MAIL_REQUESTED };
    },

    async confirmPasswordReset({ body, meta }) {
      await recovery.confirmPasswordReset(body.token, body.new_password, meta);
      return { status: 204 };
    },

    async verifyEmail({ body, meta }) {
      await recovery.verifyEmail(body.token, meta);
      return { status: 204 };
    },

    async acceptInvitation({ body, meta }) {
      await recovery.acceptInvitation(body.token, body.password, body.full_name, meta);
      return { status: 204 };
    },

    async resendVerificationEmail({ body, meta }) {
      await recovery.requestVerification(body.email, meta);
      return { status: 202, body: MAIL_REQUESTED };
    },
  };
}
