import { createTransport } from 'nodemailer';
import type { MailConfig } from '../config/index.js';
import type { Logger } from '../observability/logger.js';

/** What kind of mail: named in the log and the metrics, never its content. */
export type MailKind = 'password_reset' | 'email_verification' | 'invitation' | 'registration_attempt' | 'domain_verification';

export interface MailMessage {
  kind: MailKind;
  to: string;
  subject: string;
  /** Plain text; it carries the link, so it is never logged. */
  text: string;
}

/** Where mail goes: SMTP, or (development and test without SMTP_HOST) one masked log line per mail. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

function smtpTransport(config: Extract<MailConfig['transport'], { kind: 'smtp' }>, from: string): MailTransport {
  const transporter = createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: config.startTls === 'required',
    ignoreTLS: config.startTls === 'off',
    auth: config.username !== null && config.password !== null ? { user: config.username, pass: config.password } : undefined,
    // Mail leaves after the answer, but a stuck server must not keep connections open for minutes.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message) {
      await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    close: () => transporter.close(),
  };
}

/**
 * The log cannot hold the link: a log line outlives the token and is read by more people than the
 * mailbox. A developer who needs the link runs a local SMTP catcher (DEPLOYMENT.md).
 */
function logTransport(logger: Logger): MailTransport {
  return {
    send(message) {
      logger.info('mail not sent (no SMTP_HOST): link withheld; run a local SMTP catcher to follow it', { kind: message.kind, to: message.to, subject: message.subject });
      return Promise.resolve();
    },
    close: () => undefined,
  };
}

/**
 * Sends mail after the request has been answered, so a known address and an unknown one take the
 * same time to answer. Failures are logged (kind and SMTP code only) and counted; `close` waits
 * for the mail still on its way.
 */
export class Mailer {
  private readonly transport: MailTransport | null;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    config: MailConfig,
    private readonly logger: Logger,
    private readonly onSent: (kind: MailKind, result: 'sent' | 'failed') => void,
  ) {
    const { transport } = config;
    this.transport = transport.kind === 'smtp' ? smtpTransport(transport, config.from) : transport.kind === 'log' ? logTransport(logger) : null;
  }

  /** False in staging and production without SMTP_HOST: the flows that send mail are refused. */
  get enabled(): boolean {
    return this.transport !== null;
  }

  post(message: MailMessage): void {
    const { transport } = this;
    if (!transport) return;
    const sending = transport
      .send(message)
      .then(() => this.onSent(message.kind, 'sent'))
      .catch((error: unknown) => {
        this.onSent(message.kind, 'failed');
        const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
        this.logger.error('mail delivery failed', { kind: message.kind, code, responseCode });
      })
      .finally(() => this.pending.delete(sending));
    this.pending.add(sending);
  }

  async close(): Promise<void> {
    await Promise.all(this.pending);
    this.transport?.close();
  }
}
