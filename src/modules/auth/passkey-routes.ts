import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { pageOf } from '../../http/params.js';
import type { Passkey } from './passkey-service.js';
import { toTokenPair } from './routes.js';

function toPasskey(passkey: Passkey): Schemas['Passkey'] {
  return {
    id: passkey.id,
    name: passkey.name,
    device_type: passkey.deviceType,
    backed_up: passkey.backedUp,
    transports: passkey.transports,
    created_at: passkey.createdAt.toISOString(),
    last_used_at: passkey.lastUsedAt?.toISOString() ?? null,
  };
}

type PasskeyOperation =
  | 'startPasskeyRegistration'
  | 'registerPasskey'
  | 'listPasskeys'
  | 'deletePasskey'
  | 'startPasskeyVerification'
  | 'startPasskeyRegistrationForChallenge'
  | 'registerPasskeyForChallenge';

export function passkeyHandlers({ services: { passkeys } }: Container): HandlersFor<PasskeyOperation> {
  return {
    async startPasskeyRegistration({ principal }) {
      return { status: 200, body: await passkeys.registrationOptions(principal()) };
    },

    async registerPasskey({ body, principal, meta }) {
      const { passkey, recoveryCodes } = await passkeys.register(principal(), body.name, body.credential, meta);
      return { status: 201, body: { passkey: toPasskey(passkey), recovery_codes: recoveryCodes } };
    },

    async listPasskeys({ query, principal }) {
      const page = await passkeys.list(principal(), pageOf(query));
      return { status: 200, body: page.items.map(toPasskey), headers: { 'X-Total-Count': String(page.total) } };
    },

    async deletePasskey({ params, principal, meta }) {
      await passkeys.remove(principal(), params.passkey_id, meta);
      return { status: 204 };
    },

    async startPasskeyVerification({ body, meta }) {
      return { status: 200, body: await passkeys.loginOptions(body.challenge_token, meta) };
    },

    async startPasskeyRegistrationForChallenge({ body, meta }) {
      return { status: 200, body: await passkeys.registrationOptionsForChallenge(body.challenge_token, meta) };
    },

    async registerPasskeyForChallenge({ body, meta }) {
      const { tokens, recoveryCodes } = await passkeys.registerForChallenge(body.challenge_token, body.name, body.credential, meta);
      return { status: 200, body: { ...toTokenPair(tokens), recovery_codes: recoveryCodes } };
    },
  };
}
