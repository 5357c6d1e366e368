import type { Container } from '../container.js';
import type { RequestMeta } from '../core/request-meta.js';

/** One subcommand of the admin CLI (src/cli/admin.ts). */
export interface Command {
  /** Its usage lines, shown when the arguments do not fit. */
  usage: string;
  /**
   * Reads the arguments after the command's name (throws when they do not fit the usage) and
   * answers the work: it answers the line to print, and refuses with an AppError (exit 1).
   */
  parse(args: string[]): (container: Container) => Promise<string>;
}

/** What audit rows written by the CLI say about where a change came from: no request, no address. */
export const CLI_META: RequestMeta = { requestId: 'cli', ip: null, userAgent: 'fm-auth admin CLI' };
