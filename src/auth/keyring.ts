import { createSecretKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import type { Config } from '../config/index.js';
import type { KeyPairAlgorithm } from '../config/jwt-keys.js';

/** A public verification key as GET /.well-known/jwks.json publishes it (RFC 7517, 7518, 8037). */
export interface PublicJwk {
  kty: 'OKP' | 'EC' | 'RSA';
  kid: string;
  use: 'sig';
  alg: KeyPairAlgorithm;
  /** Ed25519 and P-256 are the only curves the configuration accepts. */
  crv?: 'Ed25519' | 'P-256';
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

interface NamedKey {
  kid: string;
  key: KeyObject;
  jwk: PublicJwk;
}

async function named(key: KeyObject, alg: KeyPairAlgorithm): Promise<NamedKey> {
  // RFC 7638: the key's own hash names it, so every instance and every verifier derives the same kid.
  const kid = await calculateJwkThumbprint(key, 'sha256');
  // A public key exports only its public members: kty with crv and x (and y for EC), or n and e.
  const members = key.export({ format: 'jwk' }) as Omit<PublicJwk, 'kid' | 'use' | 'alg'>;
  return { kid, key, jwk: { ...members, kid, use: 'sig', alg } };
}

/**
 * The keys of the configured algorithm: the one that signs, the ones that verify, and what may be
 * published. HMAC tokens carry no kid (their keys are secret, so nobody else could use one);
 * asymmetric tokens name their key by kid, and verification tries that key alone.
 */
export class Keyring {
  private constructor(
    readonly signingKey: KeyObject,
    readonly signingKid: string | undefined,
    private readonly hmacKeys: KeyObject[],
    private readonly publicKeys: NamedKey[],
  ) {}

  static async load({ keys, algorithm }: Config['jwt']): Promise<Keyring> {
    if (keys.kind === 'hmac') {
      const secret = (value: string) => createSecretKey(Buffer.from(value, 'utf8'));
      const current = secret(keys.secretKey);
      const previous = keys.previousSecretKey === null ? [] : [secret(keys.previousSecretKey)];
      return new Keyring(current, undefined, [current, ...previous], []);
    }
    // The configuration pairs a key pair only with an asymmetric algorithm.
    const alg = algorithm as KeyPairAlgorithm;
    const current = await named(keys.publicKey, alg);
    const previous = keys.previousPublicKey ? [await named(keys.previousPublicKey, alg)] : [];
    return new Keyring(keys.privateKey, current.kid, [], [current, ...previous]);
  }

  /** The keys worth trying on a token, in order; none for an unknown or missing kid. */
  verificationKeysFor(token: string): KeyObject[] {
    if (this.signingKid === undefined) return this.hmacKeys;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return [];
    }
    return this.publicKeys.filter((key) => key.kid === kid).map((key) => key.key);
  }

  /** The current public key, then the previous one; empty for HMAC. */
  jwks(): PublicJwk[] {
    return this.publicKeys.map((key) => key.jwk);
  }
}
