import { type KeyObject, webcrypto } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, importPKCS8, importSPKI } from 'jose';
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

// jose signs and verifies with WebCrypto: given a KeyObject it imports it again on every call,
// which a request pays in CPU. The keys are imported once, here.
type SigningKey = webcrypto.CryptoKey;

interface NamedKey {
  kid: string;
  key: SigningKey;
  jwk: PublicJwk;
}

async function named(key: KeyObject, alg: KeyPairAlgorithm): Promise<NamedKey> {
  // RFC 7638: the key's own hash names it, so every instance and every verifier derives the same kid.
  const kid = await calculateJwkThumbprint(key, 'sha256');
  // A public key exports only its public members: kty with crv and x (and y for EC), or n and e.
  const members = key.export({ format: 'jwk' }) as Omit<PublicJwk, 'kid' | 'use' | 'alg'>;
  const imported = await importSPKI(key.export({ type: 'spki', format: 'pem' }) as string, alg);
  return { kid, key: imported, jwk: { ...members, kid, use: 'sig', alg } };
}

function hmacKey(secret: string, algorithm: string): Promise<SigningKey> {
  const hash = `SHA-${algorithm.slice(2)}`;
  return webcrypto.subtle.importKey('raw', Buffer.from(secret, 'utf8'), { name: 'HMAC', hash }, false, ['sign', 'verify']);
}

/**
 * The keys of the configured algorithm: the one that signs, the ones that verify, and what may be
 * published. HMAC tokens carry no kid (their keys are secret, so nobody else could use one);
 * asymmetric tokens name their key by kid, and verification tries that key alone.
 */
export class Keyring {
  private constructor(
    readonly signingKey: SigningKey,
    readonly signingKid: string | undefined,
    private readonly hmacKeys: SigningKey[],
    private readonly publicKeys: NamedKey[],
  ) {}

  static async load({ keys, algorithm }: Config['jwt']): Promise<Keyring> {
    if (keys.kind === 'hmac') {
      const current = await hmacKey(keys.secretKey, algorithm);
      const previous = keys.previousSecretKey === null ? [] : [await hmacKey(keys.previousSecretKey, algorithm)];
      return new Keyring(current, undefined, [current, ...previous], []);
    }
    // The configuration pairs a key pair only with an asymmetric algorithm.
    const alg = algorithm as KeyPairAlgorithm;
    const current = await named(keys.publicKey, alg);
    const previous = keys.previousPublicKey ? [await named(keys.previousPublicKey, alg)] : [];
    const signingKey = await importPKCS8(keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, alg);
    return new Keyring(signingKey, current.kid, [], [current, ...previous]);
  }

  /** The keys worth trying on a token, in order; none for an unknown or missing kid. */
  verificationKeysFor(token: string): SigningKey[] {
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
