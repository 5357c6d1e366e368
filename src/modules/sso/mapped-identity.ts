const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The keys `attribute_mapping` may set, whatever the protocol. */
export type MappedField = 'email' | 'full_name' | 'first_name' | 'last_name';

export interface MappedIdentity {
  email: string;
  fullName: string;
}

/**
 * The email and name a login gives: each field through the configuration's `attribute_mapping`,
 * else the protocol's usual names, else (for the email) `fallbackEmail` when it is an address.
 * Null without a usable email.
 */
export function mappedIdentity(
  mapping: Record<string, string>,
  defaults: Record<MappedField, readonly string[]>,
  valueOf: (name: string) => string | undefined,
  fallbackEmail?: string,
): MappedIdentity | null {
  const field = (key: MappedField): string | undefined => {
    const mapped = mapping[key];
    for (const name of mapped ? [mapped] : defaults[key]) {
      const value = valueOf(name)?.trim();
      if (value) return value;
    }
    return undefined;
  };
  const email = field('email') ?? (fallbackEmail && EMAIL.test(fallbackEmail) ? fallbackEmail : undefined);
  if (!email || !EMAIL.test(email) || email.length > 254) return null;
  const joined = [field('first_name'), field('last_name')].filter(Boolean).join(' ');
  const fullName = (field('full_name') ?? (joined || email.slice(0, email.indexOf('@')))).slice(0, 200);
  return { email, fullName };
}

/** The standard claims (OpenID Connect Core 5.1), tried when `attribute_mapping` does not name one. */
const STANDARD_CLAIMS: Record<MappedField, string[]> = { email: ['email'], full_name: ['name'], first_name: ['given_name'], last_name: ['family_name'] };

/** The identity in a claim set (an ID token's, a userinfo answer's), through `attribute_mapping` or the standard claims. */
export function claimsIdentity(mapping: Record<string, string>, claims: Record<string, unknown>): MappedIdentity | null {
  const valueOf = (name: string) => {
    const value = claims[name];
    return typeof value === 'string' ? value : undefined;
  };
  return mappedIdentity(mapping, STANDARD_CLAIMS, valueOf);
}
