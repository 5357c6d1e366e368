import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/auth/secret-box.js';

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, with a fresh IV each time', () => {
    const first = box.seal('client secret');
    expect(box.open(first)).toBe('client secret');
    expect(box.seal('client secret')).not.toBe(first);
  });

  it('refuses another key and any tampering', () => {
    const sealed = box.seal('client secret');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
    const bytes = Buffer.from(sealed.slice(3), 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => box.open(`v1:${bytes.toString('base64')}`)).toThrow();
  });
});
