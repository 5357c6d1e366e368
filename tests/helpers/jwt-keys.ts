import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto';

export type KeyPairAlgorithm = 'EdDSA' | 'ES256' | 'RS256';
export const KEY_PAIR_ALGORITHMS: KeyPairAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];

export interface PemKeyPair {
  /** PKCS#8 */
  privateKey: string;
  /** SPKI */
  publicKey: string;
}

/** A key pair as PEM, the form operators configure (openssl genpkey writes the same). */
export function toPem({ privateKey, publicKey }: KeyPairKeyObjectResult): PemKeyPair {
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

/** A fresh signing key pair for the algorithm. */
export function makeKeyPair(algorithm: KeyPairAlgorithm): PemKeyPair {
  switch (algorithm) {
    case 'EdDSA':
      return toPem(generateKeyPairSync('ed25519'));
    case 'ES256':
      return toPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    case 'RS256':
      return toPem(generateKeyPairSync('rsa', { modulusLength: 2048 }));
  }
}

/** The env value of a key pair written on one line, with line breaks as literal \n. */
export function oneLine(pem: string): string {
  return pem.replace(/\n/g, '\\n');
}
