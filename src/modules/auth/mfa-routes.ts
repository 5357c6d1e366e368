import { TOTP_PARAMETERS } from '../../auth/totp.js';
import type { Container } from '../../container.js';
import { AppError } from '../../core/errors.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import type { CodeAnswer, TotpEnrolment } from './mfa-service.js';
import { toTokenPair } from './routes.js';

function toTotpEnrolment(enrolment: TotpEnrolment): Schemas['TotpEnrolment'] {
  return { secret: enrolment.secret, otpauth_uri: enrolment.uri, ...TOTP_PARAMETERS };
}

type Answer = CodeAnswer | { passkey: NonNullable<Schemas['MfaVerifyRequest']['passkey']> };

function answerOf({ code, recovery_code: recoveryCode, passkey }: Schemas['MfaVerifyRequest']): Answer {
  const given = [code, recoveryCode, passkey].filter((answer) => answer !== undefined).length;
  if (given !== 1) throw AppError.validation('mfa_code_ambiguous', 'Give exactly one of code (from the authenticator app), recovery_code or passkey');
  if (passkey !== undefined) return { passkey };
  return code !== undefined ? { code } : { recoveryCode: recoveryCode as string };
}

type MfaOperation = 'enrolTotp' | 'confirmTotp' | 'disableTotp' | 'regenerateRecoveryCodes' | 'verifyMfa' | 'enrolTotpForChallenge' | 'confirmTotpForChallenge';

export function mfaHandlers({ services: { mfa, passkeys } }: Container): HandlersFor<MfaOperation> {
  return {
    async enrolTotp({ principal, meta }) {
      return { status: 200, body: toTotpEnrolment(await mfa.enrol(principal(), meta)) };
    },

    async confirmTotp({ body, principal, meta }) {
      return { status: 200, body: { recovery_codes: await mfa.confirm(principal(), body.code, meta) } };
    },

    async disableTotp({ body, principal, meta }) {
      await mfa.disable(principal(), body.code, meta);
      return { status: 204 };
    },

    async regenerateRecoveryCodes({ body, principal, meta }) {
      return { status: 200, body: { recovery_codes: await mfa.regenerateRecoveryCodes(principal(), body.code, meta) } };
    },

    async verifyMfa({ body, meta }) {
      const answer = answerOf(body);
      const tokens = 'passkey' in answer ? await passkeys.verify(body.challenge_token, answer.passkey, meta) : await mfa.verify(body.challenge_token, answer, meta);
      return { status: 200, body: toTokenPair(tokens) };
    },

    async enrolTotpForChallenge({ body, meta }) {
      return { status: 200, body: toTotpEnrolment(await mfa.enrolForChallenge(body.challenge_token, meta)) };
    },

    async confirmTotpForChallenge({ body, meta }) {
      const { tokens, recoveryCodes } = await mfa.confirmForChallenge(body.challenge_token, body.code, meta);
      return { status: 200, body: { ...toTokenPair(tokens), recovery_codes: recoveryCodes } };
    },
  };
}
