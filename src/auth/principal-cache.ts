import type { Principal } from '../core/principal.js';
import type { PeerBus, PeerBusHandlers } from '../db/peer-bus.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** What a change may have made stale: one session, a user's sessions, an organization's, or all. */
export type Invalidation = { kind: 'session' | 'user' | 'organization'; id: string } | { kind: 'all' };

const KINDS: ReadonlySet<string> = new Set(['session', 'user', 'organization', 'all']);

function parseInvalidations(body: string): Invalidation[] | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (!Array.isArray(value)) return undefined;
    const scopes = value.filter((item): item is Invalidation => {
      if (typeof item !== 'object' || item === null) return false;
      const { kind, id } = item as Record<string, unknown>;
      return typeof kind === 'string' && KINDS.has(kind) && (kind === 'all' || typeof id === 'string');
    });
    return scopes.length === value.length ? scopes : undefined;
  } catch {
    return undefined;
  }
}

function matches(principal: Principal, scope: Invalidation): boolean {
  switch (scope.kind) {
    case 'session':
      return principal.sessionId === scope.id;
    case 'user':
      return principal.userId === scope.id;
    case 'organization':
      return principal.organizationId === scope.id;
    case 'all':
      return true;
  }
}

interface Entry {
  principal: Principal;
  expiresAt: number;
}

export interface PrincipalCacheOptions {
  /** How long an entry answers without the database; 0 turns the cache off. */
  ttlSeconds: number;
  maxEntries: number;
  metrics: Metrics;
  logger: Logger;
  /** Opens the bus to the other instances; absent with the embedded database, which serves one. */
  connectPeers?: (handlers: PeerBusHandlers) => PeerBus;
}

/**
 * The principal `authenticate` loads, per session id, for a few seconds: the one query every
 * authenticated request pays. Every change to what it holds invalidates it here at once and on
 * the other instances through the peer bus, before the change is answered. A notification that
 * is lost leaves an entry stale for at most the TTL; while this instance is not listening the
 * cache is empty and bypassed.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation: a lookup that began before one must not store what it read. */
  private generation = 0;
  private peers: PeerBus | null = null;
  private hasListened = false;

  private constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  static open({ ttlSeconds, maxEntries, metrics, logger, connectPeers }: PrincipalCacheOptions): PrincipalCache {
    const cache = new PrincipalCache(ttlSeconds * 1000, maxEntries, metrics, logger);
    // The bus opens even with the cache off: other instances may cache, and need to hear of changes made here.
    if (connectPeers) cache.peers = connectPeers(cache.peerHandlers());
    return cache;
  }

  /** Whether entries may be read and written now: on, and hearing the other instances' changes. */
  private get usable(): boolean {
    return this.ttlMs > 0 && (this.peers === null || this.peers.listening);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether the instance hears the others' invalidations; null without peers (embedded database). */
  get listening(): boolean | null {
    return this.peers?.listening ?? null;
  }

  /** The peer bus's id of this instance; null without peers. */
  get peerId(): string | null {
    return this.peers?.id ?? null;
  }

  /** Pass to `store`: it refuses what was read before an invalidation that came in meanwhile. */
  get version(): number {
    return this.generation;
  }

  lookup(sessionId: string, userId: string): Principal | undefined {
    if (!this.usable) {
      this.metrics.sessionCacheLookups.inc({ result: 'bypass' });
      return undefined;
    }
    const entry = this.entries.get(sessionId);
    if (!entry || entry.expiresAt <= Date.now() || entry.principal.userId !== userId) {
      if (entry) this.entries.delete(sessionId);
      this.metrics.sessionCacheLookups.inc({ result: 'miss' });
      return undefined;
    }
    // Re-inserted, so the map's order is least recently used first.
    this.entries.delete(sessionId);
    this.entries.set(sessionId, entry);
    this.metrics.sessionCacheLookups.inc({ result: 'hit' });
    return entry.principal;
  }

  /** Keeps a principal read at `version`, never past its session's own expiry. */
  store(principal: Principal, sessionExpiresAt: Date, version: number): void {
    if (!this.usable || version !== this.generation) return;
    this.entries.delete(principal.sessionId);
    this.entries.set(principal.sessionId, { principal, expiresAt: Math.min(Date.now() + this.ttlMs, sessionExpiresAt.getTime()) });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /**
   * Call after the change has committed (before, another request could read the old rows and
   * cache them again): drops the entries here, then waits until every other listening instance
   * has dropped them too, so the next request anywhere sees the change.
   */
  async invalidate(...scopes: Invalidation[]): Promise<void> {
    this.apply(scopes, 'local');
    if (!this.peers) return;
    try {
      const { expected, acknowledged } = await this.peers.broadcast(JSON.stringify(scopes));
      if (acknowledged < expected) {
        this.metrics.sessionCacheUnacknowledged.inc();
        this.logger.warn('session cache: not every instance acknowledged an invalidation in time; theirs expire within the TTL', { expected, acknowledged });
      }
    } catch (error) {
      // The change is committed and answered as done; the other instances' entries expire within the TTL.
      this.metrics.sessionCacheUnacknowledged.inc();
      this.logger.error('session cache: could not tell the other instances of an invalidation', { error });
    }
  }

  close(): Promise<void> {
    return this.peers?.close() ?? Promise.resolve();
  }

  private apply(scopes: readonly Invalidation[], origin: 'local' | 'peer' | 'listener'): void {
    this.generation += 1;
    for (const scope of scopes) {
      this.metrics.sessionCacheInvalidations.inc({ scope: scope.kind, origin });
      if (scope.kind === 'all') {
        this.entries.clear();
        continue;
      }
      for (const [sessionId, entry] of this.entries) if (matches(entry.principal, scope)) this.entries.delete(sessionId);
    }
  }

  private peerHandlers(): PeerBusHandlers {
    return {
      onMessage: (body) => {
        const scopes = parseInvalidations(body);
        // A message this version cannot read may still name a change: dropping everything is always safe.
        this.apply(scopes ?? [{ kind: 'all' }], 'peer');
      },
      // Whatever was missed while not listening is unknown: start again from the database.
      onListeningChange: (listening) => {
        this.apply([{ kind: 'all' }], 'listener');
        if (!listening) this.logger.warn('session cache: stopped hearing invalidations; bypassed until listening again');
        else if (this.hasListened) this.logger.info('session cache: listening for invalidations again');
        this.hasListened ||= listening;
      },
      onError: (error) => this.logger.warn('session cache: peer bus error', { error }),
    };
  }
}
