import { describe, expect, it } from 'vitest';
import { runCommand } from '../helpers/commands.js';

/** Every shell script of the repository: tracked, or new and not ignored. */
async function shellScripts(): Promise<string[]> {
  const listed = await runCommand('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.sh', '.ci/run']);
  expect(listed.status, listed.stderr).toBe(0);
  return [...new Set(listed.stdout.split('\n').filter((file) => file !== ''))].sort();
}

describe('shell scripts', () => {
  it('are all found', async () => {
    expect(await shellScripts()).toEqual(expect.arrayContaining(['.ci/run', 'scripts/generate_secrets.sh', 'scripts/validate_secrets.sh']));
  });

  it('are shellcheck-clean, style and info findings included (Debian: apt-get install shellcheck)', async () => {
    const result = await runCommand('shellcheck', ['--severity=style', ...(await shellScripts())]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
