import type { PublicJwk } from '../../auth/keyring.js';
import type { Container } from '../../container.js';
import type { HandlersFor, Schemas } from '../../http/types.js';

// Verifiers refetch the set on an unknown kid, so caching delays nothing after a rotation; it
// only spares us a request per token they check.
const CACHE_CONTROL = 'public, max-age=300';

function toJwk({ kty, kid, use, alg, crv, x, y, n, e }: PublicJwk): Schemas['Jwk'] {
  return { kty, kid, use, alg, crv, x, y, n, e };
}

export function keyHandlers({ accessTokens }: Container): HandlersFor<'getJwks'> {
  return {
    async getJwks() {
      const keys = await accessTokens.publicKeys();
      return { status: 200, body: { keys: keys.map(toJwk) }, headers: { 'Cache-Control': CACHE_CONTROL } };
    },
  };
}
