import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailbox {
  port: number;
  /** The server settings a service needs to send here. */
  env: Record<string, string>;
  /** The oldest mail to `address` (any letter case) not taken yet, of this subject when given; waits for it when none is here. */
  next(address: string, options?: { subject?: string; timeoutMs?: number }): Promise<ReceivedMail>;
  /** How many mails `address` has received so far, of this subject when given. */
  count(address: string, subject?: string): number;
  close(): Promise<void>;
}

const key = (address: string) => address.toLowerCase();

/**
 * A real SMTP server on a free loopback port (smtp-server), each message parsed by mailparser.
 * It asks for the credentials the service is configured with, so a test also sees them sent.
 */
export async function startMailbox(): Promise<Mailbox> {
  const credentials = { username: 'fm-auth-test', password: 'smtp-test-password' };
  const received = new Map<string, ReceivedMail[]>();
  const taken = new Set<ReceivedMail>();
  const waiters = new Map<string, (() => void)[]>();
  const deliver = (mail: ReceivedMail) => {
    const inbox = received.get(key(mail.to)) ?? [];
    inbox.push(mail);
    received.set(key(mail.to), inbox);
    for (const wake of waiters.get(key(mail.to)) ?? []) wake();
    waiters.delete(key(mail.to));
  };

  const server = new SMTPServer({
    // No certificate to offer: the service's STARTTLS is set to off for this server.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    // A reverse DNS lookup of 127.0.0.1 per connection costs seconds on a machine without a resolver.
    disableReverseLookup: true,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.username && auth.password === credentials.password) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed: ParsedMail) => {
          for (const recipient of session.envelope.rcptTo) deliver({ to: recipient.address, subject: parsed.subject ?? '', text: parsed.text ?? '' });
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.server.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('smtp-server has no port'));
    });
  });

  const available = (address: string, subject: string | undefined) =>
    (received.get(key(address)) ?? []).filter((mail) => !taken.has(mail) && (subject === undefined || mail.subject === subject));
  return {
    port,
    env: {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(port),
      SMTP_STARTTLS: 'off',
      SMTP_USERNAME: credentials.username,
      SMTP_PASSWORD: credentials.password,
      SMTP_FROM_EMAIL: 'no-reply@fm-auth.test',
      APP_BASE_URL: 'https://app.fm-auth.test',
    },
    async next(address, { subject, timeoutMs = 5000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [mail] = available(address, subject);
        if (mail) {
          taken.add(mail);
          return mail;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`no mail to ${address} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          waiters.set(key(address), [
            ...(waiters.get(key(address)) ?? []),
            () => {
              clearTimeout(timer);
              resolve();
            },
          ]);
        });
      }
    },
    count: (address, subject) => (received.get(key(address)) ?? []).filter((mail) => subject === undefined || mail.subject === subject).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token in a mailed link's fragment (`.../reset-password#token=...`), and the link's page. */
export function linkIn(mail: ReceivedMail): { url: URL; token: string } {
  const match = /https?:\/\/\S+#token=[A-Za-z0-9_-]+/.exec(mail.text);
  if (!match) throw new Error(`no link in the mail "${mail.subject}"`);
  const url = new URL(match[0]);
  return { url, token: new URLSearchParams(url.hash.slice(1)).get('token') ?? '' };
}
