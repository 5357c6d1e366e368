import { describe, expect, it } from 'vitest';
import { isAllowedRedirect } from '../../src/modules/sso/redirect-allowlist.js';
import { SamlRejection } from '../../src/modules/sso/saml.js';
import { identityOf } from '../../src/modules/sso/saml-identity.js';

const assertion = (attributes: Record<string, string[]>, nameId = 'opaque-subject-1') => ({ nameId, attributes });

describe('identityOf: the user fields an assertion gives', () => {
  it('follows attribute_mapping before the usual names', () => {
    const identity = identityOf(
      { email: 'workEmail', full_name: 'cn' },
      assertion({ workEmail: ['grace@navy.example'], email: ['other@navy.example'], cn: ['Grace Hopper'], displayName: ['G'] }),
    );
    expect(identity).toEqual({ email: 'grace@navy.example', fullName: 'Grace Hopper' });
  });

  it('understands Entra ID claim URIs and joins first and last names', () => {
    const identity = identityOf(
      {},
      assertion({
        'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': ['ada@engine.example'],
        'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname': ['Ada'],
        'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname': ['Lovelace'],
      }),
    );
    expect(identity).toEqual({ email: 'ada@engine.example', fullName: 'Ada Lovelace' });
  });

  it('skips blank values, falls back to an email NameID and to the email’s local part for the name', () => {
    expect(identityOf({}, assertion({ mail: ['  '] }, 'alan@bletchley.example'))).toEqual({ email: 'alan@bletchley.example', fullName: 'alan' });
  });

  it('refuses an assertion without a usable email', () => {
    expect(() => identityOf({}, assertion({ displayName: ['No Mail'] }))).toThrow(SamlRejection);
    expect(() => identityOf({ email: 'mail' }, assertion({ mail: ['not an address'] }))).toThrow(/no usable email address/);
  });
});

describe('isAllowedRedirect', () => {
  const allowlist = ['https://app.example/sso', 'http://localhost:3000'];

  it('allows the entry’s path and below it, and any path of an origin entry', () => {
    expect(isAllowedRedirect('https://app.example/sso', allowlist)).toBe(true);
    expect(isAllowedRedirect('https://app.example/sso/callback?state=1', allowlist)).toBe(true);
    expect(isAllowedRedirect('http://localhost:3000/anything', allowlist)).toBe(true);
  });

  it('refuses look-alike paths, other ports and schemes, credentials and fragments', () => {
    for (const uri of [
      'https://app.example/ssofake',
      'https://app.example/other',
      'http://localhost:3001/',
      'http://app.example/sso',
      'https://user:pw@app.example/sso',
      'https://app.example/sso#frag',
      'javascript://app.example/sso',
      'not a url',
    ]) {
      expect(isAllowedRedirect(uri, allowlist), uri).toBe(false);
    }
  });
});
