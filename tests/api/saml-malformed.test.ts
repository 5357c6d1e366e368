import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, login, registerOrganization } from '../helpers/fixtures.js';
import { createSamlConfiguration, postResponse, serviceProvider, startLogin } from '../helpers/saml-fixtures.js';
import { encodeResponse, TestIdentityProvider } from '../helpers/saml-idp.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let idp: TestIdentityProvider;
let configId: string;

beforeAll(async () => {
  server = await startServer({ SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/' });
  const admin = await registerOrganization(server);
  idp = new TestIdentityProvider();
  configId = await createSamlConfiguration(server, admin, await login(server, admin), idp);
});
afterAll(async () => {
  await server.close();
});

const sp = () => serviceProvider(server, configId);
const PROTOCOL = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

const HOSTILE: [string, () => Promise<string> | string][] = [
  ['random bytes', () => randomBytes(2048).toString('base64')],
  [
    'an entity expansion bomb',
    () =>
      encodeResponse(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><samlp:Response ${PROTOCOL}>&b;</samlp:Response>`),
  ],
  ['deep nesting', () => encodeResponse(`<samlp:Response ${PROTOCOL}>${'<x>'.repeat(20_000)}${'</x>'.repeat(20_000)}</samlp:Response>`)],
  ['an empty assertion', () => encodeResponse(`<samlp:Response ${PROTOCOL}><saml:Assertion/></samlp:Response>`)],
  [
    'a signature whose reference names no element',
    async () => {
      const signed = Buffer.from(idp.response(sp(), { inResponseTo: await startLogin(server, configId) }), 'base64').toString('utf8');
      return encodeResponse(signed.replace(/URI="#[^"]+"/, 'URI="#_nowhere"'));
    },
  ],
  [
    'a signature element with nothing in it',
    () =>
      encodeResponse(idp.responseXml(sp()).replace('</saml:Issuer><saml:Subject>', '</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><saml:Subject>')),
  ],
  [
    'a signed refusal from the IdP (status Responder)',
    async () => {
      const xml = idp.responseXml(sp(), { inResponseTo: await startLogin(server, configId) }).replace('status:Success', 'status:Responder');
      return encodeResponse(idp.sign(xml));
    },
  ],
  ['a response to a different protocol namespace', () => encodeResponse(idp.sign(idp.responseXml(sp()).replace(/urn:oasis:names:tc:SAML:2.0:protocol/g, 'urn:example:not-saml')))],
  ['not even XML', () => encodeResponse(`${randomUUID()} <<<>>> ]]>`)],
];

describe('POST /sso/{id}/saml/acs with hostile input', () => {
  it.each(HOSTILE)('answers 401 to %s, never 5xx', async (_name, build) => {
    const response = await postResponse(server, configId, await build());
    expectProblem(response, 401, /^saml_/);
    expect(response.body.detail).toMatch(/^SAML response rejected: /);
  });
});
