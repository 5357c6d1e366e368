import { randomUUID } from 'node:crypto';
import type { components } from 'fm-auth/client';
import { expect } from 'vitest';
import type { TestDnsServer } from './dns-server.js';
import type { Tokens } from './fixtures.js';
import type { TestServer } from './server.js';

export type Domain = components['schemas']['Domain'];
type Claim = components['schemas']['DomainClaim'];

/** A domain no other test of the run uses: claims are global, so each test proves its own. */
export function uniqueDomain(label = 'corp'): string {
  return `${label}-${randomUUID().slice(0, 8)}.verified.test`;
}

export function claimDomain(server: TestServer, tokens: Tokens, organizationId: string, body: Claim) {
  return server.client(tokens).api.POST('/api/v1/enterprise/organizations/{organization_id}/domains', { params: { path: { organization_id: organizationId } }, body });
}

export function verifyDomain(server: TestServer, tokens: Tokens, organizationId: string, domainId: string) {
  return server.client(tokens).api.POST('/api/v1/enterprise/organizations/{organization_id}/domains/{domain_id}/verify', {
    params: { path: { organization_id: organizationId, domain_id: domainId } },
  });
}

/** Claims `domain` by DNS, publishes the record the answer names, and verifies it: answers the verified domain. */
export async function proveDomain(server: TestServer, dns: TestDnsServer, tokens: Tokens, organizationId: string, domain: string): Promise<Domain> {
  const claimed = await claimDomain(server, tokens, organizationId, { domain, verification_method: 'dns' });
  expect(claimed.response.status, JSON.stringify(claimed.error)).toBe(201);
  const record = claimed.data?.dns_record;
  if (!claimed.data || !record) throw new Error('a DNS claim without its record');
  dns.publishTxt(record.name, record.value);
  const verified = await verifyDomain(server, tokens, organizationId, claimed.data.id);
  expect(verified.response.status, JSON.stringify(verified.error)).toBe(200);
  return verified.data as Domain;
}
