import type { Container } from '../../container.js';
import type { OrganizationDomainRow } from '../../db/schema.js';
import { pageOf } from '../../http/params.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import { challengeName } from './dns-challenge.js';

function toDomain(row: OrganizationDomainRow): Schemas['Domain'] {
  return {
    id: row.id,
    organization_id: row.organizationId,
    domain: row.domain,
    status: row.status as Schemas['Domain']['status'],
    verification_method: row.verificationMethod as Schemas['DomainVerificationMethod'],
    dns_record: row.dnsToken === null ? null : { name: challengeName(row.domain), type: 'TXT', value: row.dnsToken },
    verification_email: row.verificationEmail,
    verified_at: row.verifiedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

type DomainOperation = 'claimDomain' | 'listDomains' | 'getDomain' | 'deleteDomain' | 'verifyDomain' | 'confirmDomain';

export function domainHandlers({ services: { domains } }: Container): HandlersFor<DomainOperation> {
  return {
    async claimDomain({ params, body, principal, meta }) {
      const claim = await domains.claim(principal(), params.organization_id, { domain: body.domain, method: body.verification_method, email: body.email }, meta);
      return { status: 201, body: toDomain(claim) };
    },

    async listDomains({ params, query, principal }) {
      const page = await domains.list(principal(), params.organization_id, pageOf(query));
      return { status: 200, body: page.items.map(toDomain), headers: { 'X-Total-Count': String(page.total) } };
    },

    async getDomain({ params, principal }) {
      return { status: 200, body: toDomain(await domains.get(principal(), params.organization_id, params.domain_id)) };
    },

    async deleteDomain({ params, principal, meta }) {
      await domains.remove(principal(), params.organization_id, params.domain_id, meta);
      return { status: 204 };
    },

    async verifyDomain({ params, principal, meta }) {
      return { status: 200, body: toDomain(await domains.verifyByDns(principal(), params.organization_id, params.domain_id, meta)) };
    },

    async confirmDomain({ body, meta }) {
      return { status: 200, body: toDomain(await domains.confirmByEmail(body.token, meta)) };
    },
  };
}
