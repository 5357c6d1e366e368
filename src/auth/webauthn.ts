import {
  type AuthenticationExtensionsClientOutputs,
  type AuthenticatorAttachment,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { WebAuthnConfig } from '../config/webauthn.js';

/**
 * The one module that knows @simplewebauthn/server: the options of the two ceremonies and the
 * checks of what the browser answers (challenge, origin, rp id, user presence, signature, counter).
 */

export type DeviceType = 'single_device' | 'multi_device';
export type { PublicKeyCredentialCreationOptionsJSON as CreationOptions, PublicKeyCredentialRequestOptionsJSON as RequestOptions };

/** What `credential.toJSON()` gives in a browser: checked here, so its strings are taken as they come. */
interface BrowserCredential<Response> {
  id: string;
  rawId: string;
  type: 'public-key';
  authenticatorAttachment?: string | null;
  clientExtensionResults: object;
  response: Response;
}
export type RegistrationAnswer = BrowserCredential<{ clientDataJSON: string; attestationObject: string; transports?: string[] }>;
export type AssertionAnswer = BrowserCredential<{ clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string }>;

/** A passkey as stored: the credential id and COSE public key in base64url. */
export interface StoredPasskey {
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
}

export interface NewPasskey extends StoredPasskey {
  deviceType: DeviceType;
  backedUp: boolean;
}

export interface PasskeyUse {
  signCount: number;
  deviceType: DeviceType;
  backedUp: boolean;
}

/** A ceremony the browser's answer did not pass; the reason is for the audit trail only. */
export class WebAuthnRejection extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'WebAuthnRejection';
  }
}

// Long enough for a user to find a security key and touch it; the stored challenges live as long.
export const CEREMONY_TIMEOUT_SECONDS = 300;

const TRANSPORTS: readonly AuthenticatorTransportFuture[] = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'];

function knownTransports(transports: readonly string[]): AuthenticatorTransportFuture[] {
  return transports.filter((transport): transport is AuthenticatorTransportFuture => (TRANSPORTS as readonly string[]).includes(transport));
}

const ATTACHMENTS: readonly AuthenticatorAttachment[] = ['platform', 'cross-platform'];

const isAttachment = (value: string | null | undefined): value is AuthenticatorAttachment => (ATTACHMENTS as readonly (string | null | undefined)[]).includes(value);

function credentialOf<Response>(answer: BrowserCredential<Response>) {
  return {
    id: answer.id,
    rawId: answer.rawId,
    type: answer.type,
    authenticatorAttachment: isAttachment(answer.authenticatorAttachment) ? answer.authenticatorAttachment : undefined,
    clientExtensionResults: answer.clientExtensionResults as AuthenticationExtensionsClientOutputs,
  };
}

function deviceTypeOf(type: 'singleDevice' | 'multiDevice'): DeviceType {
  return type === 'singleDevice' ? 'single_device' : 'multi_device';
}

/** simplewebauthn throws plain Errors for malformed answers; they become refusals without their text leaving the server. */
async function checked<T>(reason: string, verify: () => Promise<T>): Promise<T> {
  try {
    return await verify();
  } catch {
    throw new WebAuthnRejection(reason);
  }
}

export class WebAuthn {
  constructor(private readonly config: WebAuthnConfig) {}

  registrationOptions(user: { id: string; email: string; fullName: string }, existing: readonly StoredPasskey[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return generateRegistrationOptions({
      rpName: this.config.rpName,
      rpID: this.config.rpId,
      userName: user.email,
      userDisplayName: user.fullName,
      // The user's UUID: stable per account, and not their email (which may change).
      userID: Buffer.from(user.id.replaceAll('-', ''), 'hex'),
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: knownTransports(passkey.transports) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      timeout: CEREMONY_TIMEOUT_SECONDS * 1000,
    });
  }

  async verifyRegistration(answer: RegistrationAnswer, expectedChallenge: string): Promise<NewPasskey> {
    const transports = knownTransports(answer.response.transports ?? []);
    const response = { ...credentialOf(answer), response: { ...answer.response, transports } };
    const result = await checked('registration_invalid', () =>
      verifyRegistrationResponse({ response, expectedChallenge, expectedOrigin: this.config.origins, expectedRPID: this.config.rpId, requireUserVerification: false }),
    );
    if (!result.verified) throw new WebAuthnRejection('registration_invalid');
    const { credential, credentialDeviceType, credentialBackedUp } = result.registrationInfo;
    return {
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      signCount: credential.counter,
      transports,
      deviceType: deviceTypeOf(credentialDeviceType),
      backedUp: credentialBackedUp,
    };
  }

  authenticationOptions(passkeys: readonly StoredPasskey[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.config.rpId,
      allowCredentials: passkeys.map((passkey) => ({ id: passkey.credentialId, transports: knownTransports(passkey.transports) })),
      userVerification: 'preferred',
      timeout: CEREMONY_TIMEOUT_SECONDS * 1000,
    });
  }

  async verifyAuthentication(answer: AssertionAnswer, expectedChallenge: string, passkey: StoredPasskey): Promise<PasskeyUse> {
    const response = { ...credentialOf(answer), response: answer.response };
    const result = await checked('assertion_invalid', () =>
      verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: this.config.origins,
        expectedRPID: this.config.rpId,
        credential: {
          id: passkey.credentialId,
          publicKey: Buffer.from(passkey.publicKey, 'base64url'),
          counter: passkey.signCount,
          transports: knownTransports(passkey.transports),
        },
        requireUserVerification: false,
      }),
    );
    if (!result.verified) throw new WebAuthnRejection('assertion_invalid');
    const { newCounter, credentialDeviceType, credentialBackedUp } = result.authenticationInfo;
    return { signCount: newCounter, deviceType: deviceTypeOf(credentialDeviceType), backedUp: credentialBackedUp };
  }
}
