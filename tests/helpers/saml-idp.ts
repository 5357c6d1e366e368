import { randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { makeCertificate, type KeyPair } from './certificates.js';

/** What the service provider under test expects: where responses go and whom they are for. */
export interface ServiceProviderTarget {
  entityId: string;
  acsUrl: string;
}

/** Every part of the response a test may change; absent means "as a well-behaved IdP sends it". */
export interface AssertionOptions {
  inResponseTo?: string | null;
  nameId?: string;
  attributes?: Record<string, string>;
  issuer?: string;
  /** null leaves out the AudienceRestriction (keeping Conditions). */
  audience?: string | null;
  /** false leaves out Conditions altogether. */
  conditions?: boolean;
  notBefore?: Date;
  notOnOrAfter?: Date;
  recipient?: string;
  /** null leaves out the bearer SubjectConfirmation. */
  subjectConfirmation?: null;
  destination?: string;
  assertionId?: string;
}

const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A SAML identity provider inside the tests: an openssl key pair and responses signed with
 * xml-crypto the way Okta or Entra ID sign them (RSA-SHA256, exclusive c14n, on the assertion).
 */
export class TestIdentityProvider {
  readonly keys: KeyPair;

  constructor(
    readonly entityId = `https://idp-${randomUUID().slice(0, 8)}.example/metadata`,
    keys?: KeyPair,
  ) {
    this.keys = keys ?? makeCertificate('test-idp');
  }

  get certificate(): string {
    return this.keys.certificate;
  }

  /** The unsigned Response XML. */
  responseXml(sp: ServiceProviderTarget, options: AssertionOptions = {}): string {
    const now = Date.now();
    const issueInstant = new Date(now).toISOString();
    const notBefore = (options.notBefore ?? new Date(now - 60_000)).toISOString();
    const notOnOrAfter = (options.notOnOrAfter ?? new Date(now + 5 * 60_000)).toISOString();
    const inResponseTo = options.inResponseTo ?? null;
    const inResponseToAttribute = inResponseTo === null ? '' : ` InResponseTo="${escape(inResponseTo)}"`;
    const issuer = escape(options.issuer ?? this.entityId);
    const audience =
      options.audience === null ? '' : `<saml:AudienceRestriction><saml:Audience>${escape(options.audience ?? sp.entityId)}</saml:Audience></saml:AudienceRestriction>`;
    const conditions = options.conditions === false ? '' : `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">${audience}</saml:Conditions>`;
    const confirmation =
      options.subjectConfirmation === null
        ? ''
        : `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escape(options.recipient ?? sp.acsUrl)}"${inResponseToAttribute}/></saml:SubjectConfirmation>`;
    const attributes = Object.entries(options.attributes ?? {})
      .map(([name, value]) => `<saml:Attribute Name="${escape(name)}"><saml:AttributeValue>${escape(value)}</saml:AttributeValue></saml:Attribute>`)
      .join('');
    return [
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomUUID().replace(/-/g, '')}" Version="2.0" IssueInstant="${issueInstant}" Destination="${escape(options.destination ?? sp.acsUrl)}"${inResponseToAttribute}>`,
      `<saml:Issuer>${issuer}</saml:Issuer>`,
      '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>',
      `<saml:Assertion ID="${escape(options.assertionId ?? `_a${randomUUID().replace(/-/g, '')}`)}" Version="2.0" IssueInstant="${issueInstant}">`,
      `<saml:Issuer>${issuer}</saml:Issuer>`,
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${escape(options.nameId ?? 'nobody@example.com')}</saml:NameID>${confirmation}</saml:Subject>`,
      conditions,
      `<saml:AuthnStatement AuthnInstant="${issueInstant}" SessionIndex="_s${randomUUID().slice(0, 8)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
      attributes === '' ? '' : `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>`,
      '</saml:Assertion>',
      '</samlp:Response>',
    ].join('');
  }

  /** Signs the assertion of a Response document (enveloped signature after its Issuer). */
  sign(xml: string, privateKey = this.keys.privateKey): string {
    return this.signElement(xml, 'Assertion', privateKey);
  }

  /** Signs the whole Response instead, as some IdPs are set up to. */
  signResponse(xml: string): string {
    return this.signElement(xml, 'Response', this.keys.privateKey);
  }

  private signElement(xml: string, element: 'Assertion' | 'Response', privateKey: string): string {
    const signer = new SignedXml({
      privateKey,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    signer.addReference({
      xpath: `//*[local-name(.)='${element}']`,
      transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    signer.computeSignature(xml, { location: { reference: `//*[local-name(.)='${element}']/*[local-name(.)='Issuer']`, action: 'after' } });
    return signer.getSignedXml();
  }

  /** A signed response, base64 as the HTTP-POST binding carries it. */
  response(sp: ServiceProviderTarget, options: AssertionOptions = {}): string {
    return encodeResponse(this.sign(this.responseXml(sp, options)));
  }
}

export function encodeResponse(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

export function decodeResponse(samlResponse: string): string {
  return Buffer.from(samlResponse, 'base64').toString('utf8');
}

/** The AuthnRequest a login redirect carries (HTTP-Redirect binding: deflated, base64). */
export function authnRequestOf(location: string): { id: string; xml: string; url: URL } {
  const url = new URL(location);
  const encoded = url.searchParams.get('SAMLRequest');
  if (!encoded) throw new Error(`no SAMLRequest in ${location}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const id = /\bID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('AuthnRequest without ID');
  return { id, xml, url };
}
