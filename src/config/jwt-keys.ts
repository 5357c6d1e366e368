import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** Algorithms whose tokens others verify with our public keys alone (GET /.well-known/jwks.json). */
export type KeyPairAlgorithm = 'EdDSA' | 'ES256' | 'RS256';
export const KEY_PAIR_ALGORITHMS: readonly KeyPairAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];

export function isKeyPairAlgorithm(algorithm: string): algorithm is KeyPairAlgorithm {
  return (KEY_PAIR_ALGORITHMS as readonly string[]).includes(algorithm);
}

export interface JwtKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key in use before a rotation, still accepted for verification and published. */
  previousPublicKey: KeyObject | null;
}

export interface KeyPairPems {
  privateKey: string | undefined;
  publicKey: string | undefined;
  previousPublicKey: string | undefined;
}

const MIN_RSA_BITS = 2048;
const REQUIRED_KEY: Record<KeyPairAlgorithm, string> = {
  EdDSA: 'an Ed25519 key',
  ES256: 'a P-256 EC key',
  RS256: `an RSA key of at least ${MIN_RSA_BITS} bits`,
};

/** The key type each algorithm signs with: a key that fits another algorithm is refused, not guessed at. */
function fits(algorithm: KeyPairAlgorithm, key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails ?? {};
  switch (algorithm) {
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519';
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1';
    case 'RS256':
      return key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS;
  }
}

function describe(key: KeyObject): string {
  const { namedCurve, modulusLength } = key.asymmetricKeyDetails ?? {};
  return [key.asymmetricKeyType, namedCurve, modulusLength && `${modulusLength} bits`].filter(Boolean).join(' ');
}

function parsePrivateKey(pem: string, problems: string[]): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch {
    problems.push('JWT_PRIVATE_KEY must be an unencrypted PEM private key (PKCS#8, "BEGIN PRIVATE KEY")');
    return null;
  }
}

function parsePublicKey(name: string, pem: string, problems: string[]): KeyObject | null {
  // createPublicKey also accepts a private key and derives its public half; a private key has no
  // business in a variable that is only ever published.
  if (parsesAsPrivateKey(pem)) {
    problems.push(`${name} must be a public key, not a private key`);
    return null;
  }
  try {
    return createPublicKey(pem);
  } catch {
    problems.push(`${name} must be a PEM public key (SPKI, "BEGIN PUBLIC KEY")`);
    return null;
  }
}

function parsesAsPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

function checkFits(name: string, algorithm: KeyPairAlgorithm, key: KeyObject, problems: string[]): boolean {
  if (fits(algorithm, key)) return true;
  problems.push(`${name} must be ${REQUIRED_KEY[algorithm]} for JWT_ALGORITHM=${algorithm} (got ${describe(key)})`);
  return false;
}

/**
 * The signing key pair of an asymmetric algorithm: the private key, its public key (derived when
 * not given, and when given it must match), and the previous public key of a rotation.
 */
export function parseKeyPair(algorithm: KeyPairAlgorithm, pems: KeyPairPems, problems: string[]): JwtKeyPair | null {
  if (pems.privateKey === undefined) {
    problems.push(`JWT_PRIVATE_KEY is required when JWT_ALGORITHM=${algorithm}`);
    return null;
  }
  const privateKey = parsePrivateKey(pems.privateKey, problems);
  const givenPublicKey = pems.publicKey === undefined ? null : parsePublicKey('JWT_PUBLIC_KEY', pems.publicKey, problems);
  const previousPublicKey = pems.previousPublicKey === undefined ? null : parsePublicKey('JWT_PREVIOUS_PUBLIC_KEY', pems.previousPublicKey, problems);
  if (!privateKey || !checkFits('JWT_PRIVATE_KEY', algorithm, privateKey, problems)) return null;

  const publicKey = createPublicKey(privateKey);
  if (givenPublicKey && !givenPublicKey.equals(publicKey)) problems.push('JWT_PUBLIC_KEY is not the public key of JWT_PRIVATE_KEY');
  if (previousPublicKey && checkFits('JWT_PREVIOUS_PUBLIC_KEY', algorithm, previousPublicKey, problems) && previousPublicKey.equals(publicKey)) {
    problems.push('JWT_PREVIOUS_PUBLIC_KEY is the current public key; set it to the key in use before the rotation');
  }
  return { privateKey, publicKey, previousPublicKey };
}
