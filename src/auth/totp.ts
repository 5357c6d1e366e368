import { generateSecret, generateURI, verify } from 'otplib';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PARAMETERS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;

// One step either side: a phone's clock a little off, or a code typed as it rolled over.
const EPOCH_TOLERANCE_SECONDS = TOTP_PARAMETERS.period;
const SECRET_BYTES = 20;

export interface NewTotpSecret {
  secret: string;
  uri: string;
}

/** TOTP secrets and codes (otplib). Secrets leave only through `create`, once, for the user's app. */
export class Totp {
  constructor(private readonly issuer: string) {}

  create(label: string): NewTotpSecret {
    const secret = generateSecret({ length: SECRET_BYTES });
    return { secret, uri: generateURI({ issuer: this.issuer, label, secret, algorithm: 'sha1', digits: TOTP_PARAMETERS.digits, period: TOTP_PARAMETERS.period }) };
  }

  /**
   * The time step a current code belongs to, or null for a wrong one. A step not after
   * `lastUsedStep` is refused, so an accepted code cannot be replayed within its window.
   */
  async check(secret: string, code: string, lastUsedStep: number | null): Promise<number | null> {
    const result = await verify({
      secret,
      token: code,
      epochTolerance: EPOCH_TOLERANCE_SECONDS,
      ...(lastUsedStep === null ? {} : { afterTimeStep: lastUsedStep }),
    });
    // The answer's type covers HOTP too; a TOTP match always carries its time step.
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  }
}
