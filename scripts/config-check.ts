import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../src/config/index.js';

/**
 * Validates a configuration without starting the service, by the same rules the service
 * applies at start-up: `npm run config:check` checks this process's environment,
 * `npm run config:check -- --env-file .env.production` checks a file instead.
 */
const fileFlag = process.argv.indexOf('--env-file');
const envFile = fileFlag === -1 ? undefined : process.argv[fileFlag + 1];
if (fileFlag !== -1 && !envFile) {
  console.error('usage: npm run config:check [-- --env-file FILE]');
  process.exit(2);
}
const source = envFile ?? 'the environment';
const env = envFile ? parseEnv(readFileSync(envFile, 'utf8')) : process.env;

try {
  const config = loadConfig(env);
  for (const warning of config.warnings) console.warn(`! ${warning}`);
  console.log(`✓ ${source}: valid ${config.environment} configuration`);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`✗ ${source}: ${err.problems.length} problem(s)`);
  for (const problem of err.problems) console.error(`  - ${problem}`);
  process.exit(1);
}
