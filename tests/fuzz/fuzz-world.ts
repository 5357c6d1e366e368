import { type Account, API, login, type Tokens } from '../helpers/fixtures.js';
import type { SchemaScope } from '../helpers/schema-arbitrary.js';
import type { TestServer } from '../helpers/server.js';
import type { FuzzRequest } from './raw-http.js';
import type { Credential, FuzzCase, PathArg, RouteTweak } from './request-cases.js';

/** Ids by path parameter name. */
export type IdPools = Record<string, string[]>;

export type ForgedCredential = Exclude<Credential, 'admin' | 'member' | 'lower-case-scheme'>;

/** What the world is made of; fuzz-setup.ts builds it. */
export interface WorldParts {
  server: TestServer;
  /** Hints mixed with generated values (random cases), or the hints alone with only the organization's own objects. */
  scopes: { random: SchemaScope; happy: SchemaScope };
  accounts: { admin: Account; member: Account; adminTokens: Tokens; memberTokens: Tokens; passwordOwnerToken: string };
  /** Objects that reads act on; they are never changed. */
  stable: IdPools;
  /** Objects that PUT acts on: changed over and over, never deleted. */
  scratch: IdPools;
  /** Another organization's objects: every request on them must be a 404. */
  foreign: Record<string, string>;
  /** Makes a new object for each DELETE, by path parameter name. */
  fresh: Record<string, () => Promise<string>>;
  /** The Authorization header of each forged credential (none for `none`). */
  forged: Record<ForgedCredential, string | undefined>;
}

/**
 * Operations that end sessions get sessions of their own, so the shared Admin and Member tokens
 * live through the run: logout ends the caller's session (a fresh one of the same user is
 * ended instead); a password change ends the user's other sessions (a user of its own, the
 * password owner, makes them).
 */
const SESSION_ENDING = new Set(['logout', 'changePassword']);

/** Everything the fuzz cases refer to: accounts, their tokens, objects to read and to wreck, and the hints. */
export class FuzzWorld {
  /** Requests the world made itself while the fuzz ran (fresh objects and sessions), not counted as fuzz cases. */
  helperRequests = 0;

  constructor(private readonly parts: WorldParts) {}

  get scopes(): WorldParts['scopes'] {
    return this.parts.scopes;
  }

  /** The request a case stands for, with real ids and tokens filled in. */
  async materialize(fuzzCase: FuzzCase, requestId: string): Promise<FuzzRequest> {
    const segments: Record<string, string> = {};
    for (const [name, arg] of Object.entries(fuzzCase.pathArgs)) segments[name] = await this.segmentFor(name, arg, fuzzCase.method);
    const path = tweakRoute(
      fuzzCase.pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => segments[name] ?? ''),
      fuzzCase.routeTweak,
    );
    const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': requestId, ...fuzzCase.wire.headers };
    const { header, note } = await this.authorization(fuzzCase.credential, fuzzCase.operationId);
    if (header !== undefined) headers.authorization = header;
    return { method: fuzzCase.method, path: fuzzCase.query === '' ? path : `${path}?${fuzzCase.query}`, headers, body: fuzzCase.wire.body, credentialNote: note };
  }

  /** Whether the shared tokens still work: the fuzz run must not have wrecked its own callers. */
  async sharedTokensWork(): Promise<{ admin: number; member: number }> {
    const me = (token: string) => this.parts.server.request('GET', `${API}/auth/me`, { token }).then((response) => response.status);
    return { admin: await me(this.parts.accounts.adminTokens.access_token), member: await me(this.parts.accounts.memberTokens.access_token) };
  }

  private async segmentFor(name: string, arg: PathArg, method: string): Promise<string> {
    if (arg.kind === 'segment') return arg.segment;
    if (arg.kind === 'foreign') return this.parts.foreign[name] ?? arg.fallback;
    const fresh = this.parts.fresh[name];
    if (method === 'DELETE' && fresh) {
      this.helperRequests += 1;
      return fresh();
    }
    const pool = (method === 'PUT' ? this.parts.scratch : this.parts.stable)[name];
    return pool ? (pool[arg.pick % pool.length] as string) : arg.fallback;
  }

  private async authorization(credential: Credential, operationId: string): Promise<{ header?: string; note?: string }> {
    if (credential === 'admin' || credential === 'member') {
      const { token, note } = await this.callerToken(credential, operationId);
      return { header: `Bearer ${token}`, note: `Bearer <${note}>` };
    }
    // The scheme is case-insensitive: this one is the Admin's real token, so it ends sessions like the Admin's.
    if (credential === 'lower-case-scheme') {
      const { token, note } = await this.callerToken('admin', operationId);
      return { header: `bearer ${token}`, note: `bearer <${note}>` };
    }
    const header = this.parts.forged[credential];
    return { header, note: header === undefined ? undefined : `<${credential} credential>` };
  }

  /** The Admin's or the Member's token, or for a session-ending operation one that may be ended. */
  private async callerToken(credential: 'admin' | 'member', operationId: string): Promise<{ token: string; note: string }> {
    const role = credential === 'admin' ? 'Admin' : 'Member';
    if (operationId === 'changePassword') return { token: this.parts.accounts.passwordOwnerToken, note: 'password owner access token' };
    if (SESSION_ENDING.has(operationId)) {
      this.helperRequests += 1;
      const tokens = await login(this.parts.server, credential === 'admin' ? this.parts.accounts.admin : this.parts.accounts.member);
      return { token: tokens.access_token, note: `fresh ${role} session access token` };
    }
    const tokens = credential === 'admin' ? this.parts.accounts.adminTokens : this.parts.accounts.memberTokens;
    return { token: tokens.access_token, note: `${role} access token` };
  }
}

function tweakRoute(path: string, tweak: RouteTweak | undefined): string {
  switch (tweak) {
    case 'extra path segment':
      return `${path}/fuzz`;
    case 'trailing slash':
      return `${path}/`;
    case 'doubled slash':
      return path.replace(/\/([^/]*)$/, '//$1');
    case 'upper-cased path':
      return path.toUpperCase();
    case undefined:
      return path;
  }
}
