import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ApiDocument, listOperations, loadApiDocument } from '../../src/http/openapi.js';
import { ROOT } from '../helpers/commands.js';

const rawSpec = () => parse(readFileSync(`${ROOT}spec/openapi.yaml`, 'utf8')) as ApiDocument;

const sourceText = () =>
  readdirSync(`${ROOT}src`, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(`${ROOT}src/${file}`, 'utf8'))
    .join('\n');

describe('x-permission', () => {
  it('is declared by every operation that takes a bearer token', () => {
    const spec = rawSpec();
    const missing = Object.values(spec.paths)
      .flatMap((item) => (['get', 'put', 'post', 'delete', 'patch'] as const).flatMap((method) => (item[method] ? [item[method]] : [])))
      .filter((operation) => (operation.security ?? spec.security ?? []).length > 0 && !('x-permission' in operation))
      .map((operation) => operation.operationId);
    expect(missing).toEqual([]);
  });

  it('stops the service from starting when a bearer operation lacks it', () => {
    const spec = rawSpec();
    const operation = spec.paths['/api/v1/enterprise/teams/{team_id}']?.get as unknown as Record<string, unknown>;
    delete operation['x-permission'];
    expect(() => listOperations(spec)).toThrow('getTeam takes a bearer token but declares no x-permission');
  });

  it('refuses a permission the catalog does not have', () => {
    const spec = rawSpec();
    (spec.paths['/api/v1/enterprise/teams/{team_id}']?.get as unknown as Record<string, unknown>)['x-permission'] = 'teams:obliterate';
    expect(() => listOperations(spec)).toThrow('unknown x-permission: teams:obliterate');
  });

  it('is told in the served description of each operation', () => {
    const served = loadApiDocument('/api/v1');
    const getTeam = served.paths['/api/v1/enterprise/teams/{team_id}']?.get as { description: string };
    const createOrganization = served.paths['/api/v1/enterprise/organizations']?.post as { description: string };
    const logout = served.paths['/api/v1/enterprise/auth/logout']?.post as { description: string };
    expect(getTeam.description).toMatch(/\*\*Access:\*\* requires the `teams:read` permission\.$/);
    expect(createOrganization.description).toMatch(/\*\*Access:\*\* the platform super-admin only \(`organizations:create`\)\.$/);
    expect(logout.description).toMatch(/\*\*Access:\*\* any signed-in user\.$/);
  });
});

describe('ProblemCode', () => {
  it('lists only codes the service can answer with', () => {
    const codes = (rawSpec().components as { schemas: { ProblemCode: { oneOf: { const: string }[] } } }).schemas.ProblemCode.oneOf.map((entry) => entry.const);
    const source = sourceText();
    // SAML, OIDC and OAuth refusals are thrown by reason (`new SamlRejection('expired', …)`) and answered as saml_<reason> / oidc_<reason> / oauth_<reason>.
    const unused = codes.filter((code) => !source.includes(`'${code}'`) && !source.includes(`'${code.replace(/^(saml|oidc|oauth)_/, '')}'`));
    expect(unused).toEqual([]);
  });
});
