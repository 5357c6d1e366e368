import { type MappedField, mappedIdentity } from './mapped-identity.js';
import { SamlRejection, type VerifiedAssertion } from './saml.js';

/** Attribute names IdPs commonly use, tried when `attribute_mapping` does not name one. */
const DEFAULT_ATTRIBUTES: Record<MappedField, string[]> = {
  email: ['email', 'mail', 'emailAddress', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', 'urn:oid:0.9.2342.19200300.100.1.3'],
  full_name: ['displayName', 'name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'urn:oid:2.16.840.1.113730.3.1.241'],
  first_name: ['firstName', 'givenName', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname', 'urn:oid:2.5.4.42'],
  last_name: ['lastName', 'surname', 'sn', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname', 'urn:oid:2.5.4.4'],
};

export interface SamlIdentity {
  email: string;
  fullName: string;
}

/**
 * The email and name an assertion gives, through the configuration's `attribute_mapping`
 * (keys email, full_name, first_name, last_name) or else the usual attribute names; the email
 * falls back to a NameID that is an address. Throws SamlRejection without a usable email.
 */
export function identityOf(mapping: Record<string, string>, assertion: Pick<VerifiedAssertion, 'nameId' | 'attributes'>): SamlIdentity {
  const valueOf = (name: string) => assertion.attributes[name]?.find((candidate) => candidate.trim() !== '');
  const identity = mappedIdentity(mapping, DEFAULT_ATTRIBUTES, valueOf, assertion.nameId);
  if (!identity) throw new SamlRejection('missing_email', 'the assertion carries no usable email address (check attribute_mapping)');
  return identity;
}
