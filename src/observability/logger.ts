import type { Writable } from 'node:stream';
import winston from 'winston';
import type { Config } from '../config/index.js';
import type { RequestScope } from './request-scope.js';

export type Logger = winston.Logger;

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|assertion|saml_?response|private_?key|api_?key|recovery_?codes?/i;
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
// Anything shaped like a JWT, wherever it appears in free text.
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// A password hash is a secret too; it must never reach a log even inside free text.
const PASSWORD_HASH = /\$argon2(?:id|i|d)\$[^\s"',]*/g;
const REDACTED = '[REDACTED]';

function maskEmail(text: string): string {
  return text.replace(EMAIL, '$1***@$2');
}

function redactString(text: string): string {
  return maskEmail(text.replace(JWT_LIKE, REDACTED).replace(PASSWORD_HASH, REDACTED));
}

/**
 * A failed query's error carries its parameters (password hashes, emails, tokens' hashes) in
 * `params` and in its message: keep only the statement and the database's own error code.
 */
function describeError(error: Error): Record<string, unknown> {
  const { query, cause } = error as Error & { query?: unknown; cause?: unknown };
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof query === 'string') {
    return { name: error.name, message: redactString(`Failed query: ${query}`), ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: error.name, message: redactString(error.message), ...(typeof code === 'string' ? { code } : {}) };
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Date) return value;
  if (value instanceof Error) return describeError(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(inner, depth + 1);
  }
  return out;
}

/** Removes secrets by field name and masks emails and JWT-shaped strings everywhere else. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    info[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(info[key], 0);
  }
  return info;
});

/** Stamps the current request's id on every line written while serving it. */
const withRequestId = winston.format((info, options) => {
  const requestId = (options as { scope?: RequestScope }).scope?.requestId();
  if (requestId && info.request_id === undefined) info.request_id = requestId;
  return info;
});

/**
 * Creates the service logger. `destination` replaces the console (tests capture output
 * through it); JSON lines in production, readable lines elsewhere.
 */
export function createLogger(config: Pick<Config, 'environment' | 'logLevel'>, options: { destination?: Writable; scope?: RequestScope } = {}): Logger {
  const { destination, scope } = options;
  const json = config.environment === 'production' || destination !== undefined;
  const format = json
    ? winston.format.combine(withRequestId({ scope }), redact(), winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
        withRequestId({ scope }),
        redact(),
        winston.format.timestamp(),
        winston.format.colorize(),
        winston.format.printf(({ timestamp, level, message, ...meta }) => {
          const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
          return `${String(timestamp)} ${level} ${String(message)}${rest}`;
        }),
      );
  const transport = destination ? new winston.transports.Stream({ stream: destination }) : new winston.transports.Console({ stderrLevels: ['error'] });
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston types its transports as interfaces; at run time they are winston-transport instances
  return winston.createLogger({ level: config.logLevel, format, transports: [transport] });
}
