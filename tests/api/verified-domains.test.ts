import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDomainTokens } from '../helpers/database-facts.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { claimDomain, type Domain, proveDomain, uniqueDomain, verifyDomain } from '../helpers/domain-fixtures.js';
import { type Account, API, auditCursor, auditEvents, expectProblem, login, organizationWithMember, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { linkIn, type Mailbox, startMailbox } from '../helpers/mailbox.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireDomainConfirmation } from '../helpers/time-travel.js';

let server: TestServer;
let dns: TestDnsServer;
let mailbox: Mailbox;
let admin: Account;
let adminTokens: Tokens;

beforeAll(async () => {
  [dns, mailbox] = await Promise.all([startDnsServer(), startMailbox()]);
  server = await startServer({ ...dns.env, ...mailbox.env, DNS_TIMEOUT_MS: '2000' });
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
});
afterAll(async () => {
  await server?.close();
  await Promise.all([dns?.close(), mailbox?.close()]);
});

const domainPath = (organizationId: string, domainId: string) => `${API}/organizations/${organizationId}/domains/${domainId}`;

async function claimByDns(domain = uniqueDomain(), owner = { organizationId: admin.organizationId, tokens: adminTokens }): Promise<Domain> {
  const claimed = await claimDomain(server, owner.tokens, owner.organizationId, { domain, verification_method: 'dns' });
  expect(claimed.response.status, JSON.stringify(claimed.error)).toBe(201);
  return claimed.data as Domain;
}

describe('POST /organizations/{id}/domains', () => {
  it('answers a pending claim with the TXT record to publish, the name normalised', async () => {
    const domain = uniqueDomain();
    const claim = await claimByDns(`  ${domain.toUpperCase()}. `);
    expect(claim).toMatchObject({ organization_id: admin.organizationId, domain, status: 'pending', verification_method: 'dns', verification_email: null, verified_at: null });
    expect(claim.dns_record).toEqual({ name: `_fm-auth-challenge.${domain}`, type: 'TXT', value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const other = await claimByDns();
    expect(other.dns_record?.value).not.toBe(claim.dns_record?.value);
  });

  it('stores an internationalised name in its ASCII (IDNA) form', async () => {
    const claim = await claimByDns(`bücher-${uniqueDomain()}`);
    expect(claim.domain).toMatch(/^xn--bcher-.*\.verified\.test$/);
  });

  it.each([
    'localhost',
    '192.0.2.1',
    'https://example.com',
    'example.com/path',
    'example.com?x',
    'exa%41mple.com',
    'example.com:443',
    'a..example.com',
    '-bad.example.com',
    'under_score.example.com',
  ])('refuses "%s" with 422 domain_invalid', async (domain) => {
    expectProblem(await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'dns' }), 422, 'domain_invalid');
  });

  it.each(['gmail.com', 'Outlook.COM.', 'gmx.de', 'mail.yahoo.com', 'proton.me'])('refuses the public mail provider "%s" with 422 domain_consumer_provider', async (domain) => {
    expectProblem(await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'dns' }), 422, 'domain_consumer_provider');
  });

  it('refuses a second claim of the same domain by the organization with 409 domain_already_claimed', async () => {
    const claim = await claimByDns();
    expectProblem(await claimDomain(server, adminTokens, admin.organizationId, { domain: claim.domain, verification_method: 'dns' }), 409, 'domain_already_claimed');
  });

  it('lets a Member read the domains but not claim one (403 permission_denied)', async () => {
    const { admin: owner, adminTokens: ownerTokens, member } = await organizationWithMember(server);
    const memberTokens = await login(server, member);
    expectProblem(await claimDomain(server, memberTokens, owner.organizationId, { domain: uniqueDomain(), verification_method: 'dns' }), 403, 'permission_denied');
    const claim = await claimByDns(uniqueDomain(), { organizationId: owner.organizationId, tokens: ownerTokens });
    const listed = await server.request('GET', `${API}/organizations/${owner.organizationId}/domains`, { token: memberTokens.access_token });
    expect(listed.status).toBe(200);
    expect(listed.body.map((domain: Domain) => domain.id)).toEqual([claim.id]);
    expectProblem(await verifyDomain(server, memberTokens, owner.organizationId, claim.id), 403, 'permission_denied');
  });
});

describe('POST /organizations/{id}/domains/{domain_id}/verify', () => {
  it('verifies once the TXT record holds the token, and refuses before with 409 domain_dns_record_mismatch', async () => {
    const since = auditCursor();
    const claim = await claimByDns();
    const record = claim.dns_record as NonNullable<Domain['dns_record']>;

    const missing = await verifyDomain(server, adminTokens, admin.organizationId, claim.id);
    expectProblem(missing, 409, 'domain_dns_record_mismatch');
    expect((missing.error as { detail: string }).detail).toContain('there is no TXT record');

    dns.publishTxt(record.name, 'v=spf1 -all', 'a-token-of-someone-else');
    const wrong = await verifyDomain(server, adminTokens, admin.organizationId, claim.id);
    expectProblem(wrong, 409, 'domain_dns_record_mismatch');
    expect((wrong.error as { detail: string }).detail).toContain('no TXT record holds the token');

    // DNS splits long values into character-strings; they join into one value.
    dns.publishTxt(record.name, [record.value.slice(0, 20), record.value.slice(20)]);
    const verified = await verifyDomain(server, adminTokens, admin.organizationId, claim.id);
    expect(verified.response.status).toBe(200);
    expect(verified.data).toMatchObject({ id: claim.id, status: 'verified', verified_at: expect.any(String) });
    const again = await verifyDomain(server, adminTokens, admin.organizationId, claim.id);
    expect(again.data?.verified_at).toBe(verified.data?.verified_at);

    const events = (await auditEvents(server, adminTokens, { organization_id: admin.organizationId, since })).filter((event) => event.resource_id === claim.id);
    expect(events.map((event) => [event.event_type, event.status, event.context.reason ?? null]).reverse()).toEqual([
      ['domain.claim', 'success', null],
      ['domain.verify', 'failure', 'record_missing'],
      ['domain.verify', 'failure', 'record_mismatch'],
      ['domain.verify', 'success', null],
    ]);
    expect(events[0]?.context).toMatchObject({ domain: claim.domain, method: 'dns' });
  });

  it('answers 503 domain_dns_lookup_failed when the resolvers fail', async () => {
    const claim = await claimByDns();
    dns.failFor((claim.dns_record as NonNullable<Domain['dns_record']>).name);
    const failed = await verifyDomain(server, adminTokens, admin.organizationId, claim.id);
    expectProblem(failed, 503, 'domain_dns_lookup_failed');
    expect(failed.response.headers.get('retry-after')).toBe('5');
  });

  it('refuses a second organization a domain the first verified (409 domain_verified_elsewhere), and frees it on removal', async () => {
    const domain = uniqueDomain();
    const first = await proveDomain(server, dns, adminTokens, admin.organizationId, domain);
    const rival = await registerOrganization(server);
    const rivalTokens = await login(server, rival);
    const rivalClaim = await claimByDns(domain, { organizationId: rival.organizationId, tokens: rivalTokens });
    dns.publishTxt((rivalClaim.dns_record as NonNullable<Domain['dns_record']>).name, (rivalClaim.dns_record as NonNullable<Domain['dns_record']>).value);
    expectProblem(await verifyDomain(server, rivalTokens, rival.organizationId, rivalClaim.id), 409, 'domain_verified_elsewhere');
    const refusals = (await auditEvents(server, rivalTokens, { event_type: 'domain.verify' })).filter((event) => event.resource_id === rivalClaim.id);
    expect(refusals.map((event) => [event.status, event.context.reason])).toEqual([['failure', 'verified_elsewhere']]);

    const removed = await server.request('DELETE', domainPath(admin.organizationId, first.id), { token: adminTokens.access_token });
    expect(removed.status).toBe(204);
    expect((await verifyDomain(server, rivalTokens, rival.organizationId, rivalClaim.id)).data?.status).toBe('verified');
    const deletions = await auditEvents(server, adminTokens, { event_type: 'domain.delete' });
    expect(deletions.find((event) => event.resource_id === first.id)?.context).toMatchObject({ domain, was_verified: true });
  });

  it('refuses a claim proved by mail with 409 domain_verification_method_mismatch', async () => {
    const domain = uniqueDomain();
    const claimed = await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'email', email: `hostmaster@${domain}` });
    expectProblem(await verifyDomain(server, adminTokens, admin.organizationId, claimed.data?.id as string), 409, 'domain_verification_method_mismatch');
  });
});

describe('verification by mail', () => {
  it('mails a single-use link to the administrative address; its token verifies the claim', async () => {
    const domain = uniqueDomain();
    const email = `postmaster@${domain}`;
    const claimed = await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'email', email });
    expect(claimed.data).toMatchObject({ status: 'pending', verification_method: 'email', verification_email: email, dns_record: null });

    const mail = await mailbox.next(email);
    expect(mail.subject).toContain(domain);
    const { url, token } = linkIn(mail);
    expect(url.pathname).toBe('/verify-domain');
    const confirmed = await server.client().api.POST('/api/v1/enterprise/domains/confirm', { body: { token } });
    expect(confirmed.response.status).toBe(200);
    expect(confirmed.data).toMatchObject({ id: claimed.data?.id, status: 'verified' });
    expectProblem(await server.client().api.POST('/api/v1/enterprise/domains/confirm', { body: { token } }), 400, 'domain_verification_token_invalid');

    const verifications = (await auditEvents(server, adminTokens, { event_type: 'domain.verify' })).filter((event) => event.resource_id === claimed.data?.id);
    expect(verifications.map((event) => [event.status, event.actor_user_id, event.context.method])).toEqual([['success', null, 'email']]);
  });

  it('mails one mailbox at most 3 times an hour: a fourth claim is made but mails nothing', async () => {
    const domain = uniqueDomain();
    const email = `hostmaster@${domain}`;
    const claimants = [{ account: admin, tokens: adminTokens }];
    for (let i = 0; i < 3; i += 1) {
      const account = await registerOrganization(server);
      claimants.push({ account, tokens: await login(server, account) });
    }
    for (const { account, tokens } of claimants) {
      const claimed = await claimDomain(server, tokens, account.organizationId, { domain, verification_method: 'email', email });
      expect(claimed.response.status).toBe(201);
    }
    for (let i = 0; i < 3; i += 1) await mailbox.next(email);
    // A mail asked for after the fourth claim arrives, and still only three came to the mailbox.
    const other = uniqueDomain();
    await claimDomain(server, adminTokens, admin.organizationId, { domain: other, verification_method: 'email', email: `hostmaster@${other}` });
    await mailbox.next(`hostmaster@${other}`);
    expect(mailbox.count(email)).toBe(3);
  });

  it('refuses an expired link, which the retention job then deletes', async () => {
    const domain = uniqueDomain();
    const claimed = await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'email', email: `webmaster@${domain}` });
    const domainId = claimed.data?.id as string;
    const { token } = linkIn(await mailbox.next(`webmaster@${domain}`));
    await expireDomainConfirmation(server, domainId);
    expectProblem(await server.client().api.POST('/api/v1/enterprise/domains/confirm', { body: { token } }), 400, 'domain_verification_token_invalid');
    expect(await countDomainTokens(server, domainId)).toBe(1);
    await server.container.retention.runOnce();
    expect(await countDomainTokens(server, domainId)).toBe(0);
  });

  it('stops the link working once the claim is deleted', async () => {
    const domain = uniqueDomain();
    const claimed = await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'email', email: `admin@${domain}` });
    const { token } = linkIn(await mailbox.next(`admin@${domain}`));
    expect((await server.request('DELETE', domainPath(admin.organizationId, claimed.data?.id as string), { token: adminTokens.access_token })).status).toBe(204);
    expectProblem(await server.client().api.POST('/api/v1/enterprise/domains/confirm', { body: { token } }), 400, 'domain_verification_token_invalid');
  });

  it.each([
    ['any mailbox at the domain', (domain: string) => ({ email: `ceo@${domain}` })],
    ['an address elsewhere', () => ({ email: 'postmaster@elsewhere.example' })],
    ['an address at a subdomain', (domain: string) => ({ email: `postmaster@mail.${domain}` })],
    ['no address', () => ({})],
  ])('refuses %s with 422 domain_verification_email_invalid', async (_, email) => {
    const domain = uniqueDomain();
    expectProblem(
      await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'email', ...email(domain) }),
      422,
      'domain_verification_email_invalid',
    );
  });

  it('refuses an address given with the dns method', async () => {
    const domain = uniqueDomain();
    expectProblem(
      await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'dns', email: `admin@${domain}` }),
      422,
      'domain_verification_email_invalid',
    );
  });
});

describe('GET and DELETE /organizations/{id}/domains/{domain_id}', () => {
  it('lists the organization’s claims oldest first, paged, with X-Total-Count', async () => {
    const owner = await registerOrganization(server);
    const ownerTokens = await login(server, owner);
    const claims = [];
    for (let index = 0; index < 3; index++) claims.push(await claimByDns(uniqueDomain(), { organizationId: owner.organizationId, tokens: ownerTokens }));
    const page = await server.request('GET', `${API}/organizations/${owner.organizationId}/domains?skip=1&limit=1`, { token: ownerTokens.access_token });
    expect(page.headers.get('x-total-count')).toBe('3');
    expect(page.body.map((domain: Domain) => domain.id)).toEqual([claims[1]?.id]);
    const one = await server.request('GET', domainPath(owner.organizationId, claims[2]?.id as string), { token: ownerTokens.access_token });
    expect(one.body).toEqual(claims[2]);
  });

  it('answers 404 for another tenant’s organization and for a domain of another organization than the path’s', async () => {
    const claim = await claimByDns();
    const stranger = await registerOrganization(server);
    const strangerTokens = await login(server, stranger);
    const token = strangerTokens.access_token;
    expectProblem(await server.request('GET', `${API}/organizations/${admin.organizationId}/domains`, { token }), 404, 'organization_not_found');
    expectProblem(await server.request('GET', domainPath(admin.organizationId, claim.id), { token }), 404, 'organization_not_found');
    expectProblem(await server.request('GET', domainPath(stranger.organizationId, claim.id), { token }), 404, 'domain_not_found');
    expectProblem(await server.request('DELETE', domainPath(stranger.organizationId, claim.id), { token }), 404, 'domain_not_found');
    expectProblem(await verifyDomain(server, strangerTokens, stranger.organizationId, claim.id), 404, 'domain_not_found');
    expect((await server.request('GET', domainPath(admin.organizationId, claim.id), { token: adminTokens.access_token })).status).toBe(200);
  });
});
