import { randomUUID } from 'node:crypto';
import postgres from 'postgres';

/**
 * Messages between the instances of the service that share one PostgreSQL database, through
 * LISTEN/NOTIFY: every message is acknowledged by every other listening instance, so a sender
 * can wait until all of them have acted on it.
 */
export interface PeerBus {
  /** This instance's listener is named `fm-auth-peer-listener <id>` in pg_stat_activity once it listens. */
  readonly id: string;
  /** Whether this instance is listening now: while it is not, messages from the others are lost. */
  readonly listening: boolean;
  /**
   * Sends `body` to every other listening instance and resolves once each has acknowledged it,
   * or after the timeout, answering how many were expected and how many answered.
   */
  broadcast(body: string): Promise<{ expected: number; acknowledged: number }>;
  close(): Promise<void>;
}

export interface PeerBusHandlers {
  /** Runs for each message from another instance, before it is acknowledged. */
  onMessage(body: string): void;
  /** Runs when listening stops (the connection dropped) and when it starts again. */
  onListeningChange(listening: boolean): void;
  onError(error: unknown): void;
}

const CHANNEL = 'fm_auth_peers';
// Set only once LISTEN has succeeded, so the instances a sender counts are those that will hear it.
export const LISTENER_NAME_PREFIX = 'fm-auth-peer-listener ';
const RECONNECT_DELAY_MS = 1000;
const ACK_TIMEOUT_MS = 2000;

type Envelope = { kind: 'message'; id: string; from: string; body: string } | { kind: 'ack'; id: string; from: string };

function parseEnvelope(payload: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    if (typeof value !== 'object' || value === null) return undefined;
    const { kind, id, from, body } = value as Record<string, unknown>;
    if (typeof id !== 'string' || typeof from !== 'string') return undefined;
    if (kind === 'ack') return { kind, id, from };
    if (kind === 'message' && typeof body === 'string') return { kind, id, from, body };
  } catch {
    // Not ours: anyone who may connect to the database may NOTIFY on the channel.
  }
  return undefined;
}

interface Pending {
  expected: number;
  acknowledged: Set<string>;
  done: () => void;
}

/**
 * The bus over one dedicated connection (LISTEN holds a connection to itself). It reconnects on
 * its own, a second after a drop; handlers hear when listening stops and starts again.
 */
export function openPeerBus(url: string, handlers: PeerBusHandlers): PeerBus {
  const self = randomUUID();
  const listeningName = `${LISTENER_NAME_PREFIX}${self}`;
  const pending = new Map<string, Pending>();
  let listening = false;
  let closing = false;
  let retry: NodeJS.Timeout | undefined;

  const setListening = (value: boolean) => {
    if (listening === value) return;
    listening = value;
    handlers.onListeningChange(value);
  };
  // `onnotify` is how postgres.js's own `listen()` receives notifications; its types leave it out.
  // Used directly, it comes with `onclose` for this very connection, which `listen()` keeps to itself.
  const options: postgres.Options<Record<string, never>> & { onnotify: (channel: string, payload: string) => void } = {
    max: 1,
    max_lifetime: null,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: 'fm-auth' },
    onclose: () => {
      if (closing) return;
      setListening(false);
      scheduleListen();
    },
    onnotify: (channel, payload) => {
      if (channel !== CHANNEL) return;
      const envelope = parseEnvelope(payload);
      if (!envelope || envelope.from === self) return;
      if (envelope.kind === 'ack') {
        const waiting = pending.get(envelope.id);
        waiting?.acknowledged.add(envelope.from);
        if (waiting && waiting.acknowledged.size >= waiting.expected) waiting.done();
        return;
      }
      handlers.onMessage(envelope.body);
      notify({ kind: 'ack', id: envelope.id, from: self }).catch((error: unknown) => handlers.onError(error));
    },
  };
  const client = postgres(url, options);

  const notify = (envelope: Envelope) => client`select pg_notify(${CHANNEL}, ${JSON.stringify(envelope)})`;

  async function listen(): Promise<void> {
    await client`listen ${client(CHANNEL)}`;
    await client`select set_config('application_name', ${listeningName}, false)`;
    setListening(true);
  }

  function scheduleListen() {
    clearTimeout(retry);
    retry = setTimeout(() => {
      listen().catch((error: unknown) => {
        handlers.onError(error);
        if (!closing) scheduleListen();
      });
    }, RECONNECT_DELAY_MS);
  }

  // Not awaited: start-up goes on while the database is unreachable (main.ts waits for it to
  // migrate), and until the first LISTEN succeeds the instance simply is not listening.
  listen().catch((error: unknown) => {
    handlers.onError(error);
    if (!closing) scheduleListen();
  });

  return {
    id: self,
    get listening() {
      return listening;
    },
    async broadcast(body) {
      const [row] = await client<{ peers: number }[]>`
        select count(*)::int as peers from pg_stat_activity
        where datname = current_database() and starts_with(application_name, ${LISTENER_NAME_PREFIX}) and pid <> pg_backend_pid()`;
      const expected = row?.peers ?? 0;
      const id = randomUUID();
      const waiting: Pending = { expected, acknowledged: new Set(), done: () => {} };
      const answered = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ACK_TIMEOUT_MS);
        waiting.done = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      pending.set(id, waiting);
      try {
        await notify({ kind: 'message', id, from: self, body });
        if (expected > 0) await answered;
        else waiting.done();
        return { expected, acknowledged: waiting.acknowledged.size };
      } finally {
        waiting.done();
        pending.delete(id);
      }
    },
    async close() {
      closing = true;
      clearTimeout(retry);
      for (const waiting of pending.values()) waiting.done();
      await client.end({ timeout: 5 });
    },
  };
}
