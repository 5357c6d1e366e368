import { ConfigError, loadConfig } from '../config/index.js';
import { buildContainer, type Container } from '../container.js';
import { AppError } from '../core/errors.js';
import type { Command } from './command.js';
import { createSuperadminCommand } from './create-superadmin.js';
import { revokeSessionsCommand } from './revoke-sessions.js';

const COMMANDS = new Map<string, Command>([
  ['create-superadmin', createSuperadminCommand],
  ['revoke-sessions', revokeSessionsCommand],
]);

const USAGE = `usage:\n${[...COMMANDS.values()].map((command) => `  ${command.usage}`).join('\n\n')}`;

async function main(): Promise<number> {
  const [name = '', ...args] = process.argv.slice(2);
  let run: ReturnType<Command['parse']>;
  try {
    const command = COMMANDS.get(name);
    if (!command) throw new Error('usage');
    run = command.parse(args);
  } catch {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let container: Container;
  try {
    container = await buildContainer(loadConfig());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  try {
    await container.database.migrate();
    process.stdout.write(`${await run(container)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stderr.write(`refused: ${err.detail}\n`);
    return 1;
  } finally {
    await container.close();
  }
}

process.exitCode = await main();
