import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, auditCursor, auditEvents, login, loginSuperadmin, registerOrganization, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** The platform super-admin: reads the whole audit trail, rows tied to no organization included. */
let root: Tokens;
beforeAll(async () => {
  server = await startServer();
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

describe('secrets in logs and responses', () => {
  it('never logs or returns a password or token across a full session, failures included', async () => {
    const since = auditCursor();
    const account = await registerOrganization(server, { password: 'Unmistakable-Secret-Phrase-931' });
    const first = await login(server, account);
    const rotated = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: first.refresh_token } });
    const wrong = await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: 'Wrong-Secret-Phrase-552' } });
    const reused = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: first.refresh_token } });
    const forged = await server.request('GET', `${API}/auth/me`, { token: `${first.access_token}x` });
    const badNew = await server.request('POST', `${API}/auth/password`, {
      token: rotated.body.access_token,
      body: { current_password: 'Another-Wrong-Phrase-118', new_password: 'short' },
    });

    const logs = server.logs();
    expect(logs).not.toContain(account.email);
    expect(logs).toContain('"route":"/api/v1/enterprise/auth/login"');
    const secrets = [
      'Unmistakable-Secret-Phrase-931',
      'Wrong-Secret-Phrase-552',
      'Another-Wrong-Phrase-118',
      first.access_token,
      first.refresh_token,
      rotated.body.access_token,
      rotated.body.refresh_token,
    ];
    const errorBodies = [wrong, reused, forged, badNew].map((response) => response.text).join('\n');
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      expect(errorBodies).not.toContain(secret);
    }
    // Every row written since the test began, of every organization and of none.
    const audit = (await auditEvents(server, root, { since })).map(({ context }) => context);
    expect(JSON.stringify(audit)).not.toMatch(/Secret-Phrase|eyJ/);
  });

  it('writes mail to the log without SMTP, the address masked and the link left out', async () => {
    // A domain of its own: the masked address (first letter, domain) then names this account alone.
    const account = await registerOrganization(server, { email: uniqueEmail('mail', `mail-${randomUUID().slice(0, 8)}.example`) });
    const answer = await server.request('POST', `${API}/auth/password-reset`, { body: { email: account.email } });
    expect(answer.status).toBe(202);
    const [local, domain] = account.email.split('@') as [string, string];
    const mailLines = server
      .logs()
      .split('\n')
      .filter((line) => line.includes('mail not sent (no SMTP_HOST)') && line.includes(`${local[0]}***@${domain}`));
    expect(mailLines.map((line) => (JSON.parse(line) as { kind: string }).kind).sort()).toEqual(['email_verification', 'password_reset']);
    expect(mailLines.join('\n')).toContain('Reset your password');
    const logs = server.logs();
    expect(logs).not.toContain(account.email);
    expect(logs).not.toMatch(/#token=|reset-password|verify-email#/);
  });
});
