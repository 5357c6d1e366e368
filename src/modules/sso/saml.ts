import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import saml2, { type IdentityProvider, type SAMLAssertResponse, type ServiceProvider } from 'saml2-js';
import { SignedXml } from 'xml-crypto';
import { create as createXml } from 'xmlbuilder2';
import type { ProblemCode } from '../../core/errors.js';

/**
 * The one module that knows saml2-js (it is in maintenance mode: keep it swappable). saml2-js
 * verifies the signature, the status, the time window and the audience; it checks audience and
 * time only when present and never looks at the Issuer, the bearer SubjectConfirmationData or
 * InResponseTo, so `verify` adds those, reading them from the signed XML only. (saml2-js's own
 * signature helpers are exported only when NODE_ENV=test, so the signed XML comes from xml-crypto,
 * the library saml2-js verifies with.)
 */

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  signature: 'http://www.w3.org/2000/09/xmldsig#',
};
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const UNSPECIFIED_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
/** How far ahead of our clock an IdP's NotBefore may be. */
const CLOCK_SKEW_SECONDS = 60;

/** The spec's `saml_<reason>` problem codes, without the prefix. */
export type SamlRejectionReason = ProblemCode extends infer Code ? (Code extends `saml_${infer Reason}` ? Reason : never) : never;

/** Why a SAML response was refused: `reason` is a stable code, `detail` is safe to show the user. */
export class SamlRejection extends Error {
  constructor(
    readonly reason: SamlRejectionReason,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'SamlRejection';
  }
}

export interface IdentityProviderSettings {
  entityId: string;
  ssoUrl: string;
  certificate: string;
  nameIdFormat: string | null;
}

export interface ServiceProviderSettings {
  entityId: string;
  acsUrl: string;
  signing: { privateKey: string; certificate: string } | null;
}

export interface VerifiedAssertion {
  assertionId: string;
  nameId: string;
  /** The AuthnRequest it answers; null for an IdP-initiated login. */
  inResponseTo: string | null;
  /** When the assertion stops being acceptable anyway: how long its id must stay in the replay cache. */
  expiresAt: Date;
  attributes: Record<string, string[]>;
}

function parseXml(xml: string): Document | null {
  let errors = 0;
  const parser = new DOMParser({
    errorHandler: {
      warning: () => undefined,
      error: () => {
        errors += 1;
      },
      fatalError: () => {
        errors += 1;
      },
    },
  });
  // Typed as always a Document with a root, xmldom answers undefined for an empty source and may leave the root null.
  const document = parser.parseFromString(xml, 'text/xml') as Document | undefined;
  return errors > 0 || !document?.documentElement ? null : document;
}

/** xmldom answers '' for an absent attribute (the DOM's types say null): both mean absent here. */
function attributeOrNull(element: Element, name: string): string | null {
  const value = element.getAttribute(name);
  return value === null || value === '' ? null : value;
}

function children(element: Element, namespace: string, name: string): Element[] {
  return Array.from(element.childNodes as unknown as ArrayLike<Node>).filter(
    (node): node is Element => node.nodeType === 1 && (node as Element).namespaceURI === namespace && (node as Element).localName === name,
  );
}

function text(element: Element | undefined): string {
  return element?.textContent.trim() ?? '';
}

function timeOf(value: string | null): number | null {
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

function certificateBody(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

// Details that saml2-js's checks and ours share, so a refusal reads the same whoever made it.
const INVALID_SIGNATURE = 'its signature does not verify against the configured identity-provider certificate';
const WRONG_AUDIENCE = 'the assertion is meant for another service provider (audience)';

const POST_ASSERT_FAILURES: [RegExp, SamlRejectionReason, string][] = [
  [/signature check failed|Signed data did not contain/i, 'invalid_signature', INVALID_SIGNATURE],
  [/not yet valid/i, 'not_yet_valid', 'the assertion is not valid yet (check the clocks)'],
  [/no longer valid/i, 'expired', 'the assertion has expired'],
  [/audience/i, 'wrong_audience', WRONG_AUDIENCE],
  [/not success/i, 'idp_refused', 'the identity provider reports that the login did not succeed'],
];

function rejectionFromSaml2(err: Error): SamlRejection {
  for (const [pattern, reason, detail] of POST_ASSERT_FAILURES) {
    if (pattern.test(err.message)) return new SamlRejection(reason, detail);
  }
  return new SamlRejection('invalid_response', 'it is not a valid SAML response');
}

/** Service-provider operations for one organization's SAML configuration. */
export class SamlServiceProvider {
  private readonly serviceProvider: ServiceProvider;
  private readonly identityProvider: IdentityProvider;

  constructor(
    private readonly sp: ServiceProviderSettings,
    private readonly idp: IdentityProviderSettings,
  ) {
    this.serviceProvider = new saml2.ServiceProvider({
      entity_id: sp.entityId,
      assert_endpoint: sp.acsUrl,
      private_key: sp.signing?.privateKey ?? '',
      certificate: sp.signing?.certificate ?? '',
      audience: sp.entityId,
      notbefore_skew: CLOCK_SKEW_SECONDS,
      allow_unencrypted_assertion: true,
      sign_get_request: sp.signing !== null,
      ...(idp.nameIdFormat ? { nameid_format: idp.nameIdFormat } : {}),
    });
    this.identityProvider = new saml2.IdentityProvider({ sso_login_url: idp.ssoUrl, sso_logout_url: idp.ssoUrl, certificates: [idp.certificate] });
  }

  /** The IdP URL carrying a fresh AuthnRequest (HTTP-Redirect binding), and that request's id. */
  loginRequest(): Promise<{ url: string; requestId: string }> {
    return new Promise((resolve, reject) => {
      this.serviceProvider.create_login_request_url(this.identityProvider, {}, (err, url, requestId) => (err ? reject(err) : resolve({ url, requestId })));
    });
  }

  /** SP metadata; saml2-js's own would advertise an encryption key we do not use, and needs a certificate. */
  metadata(): string {
    const descriptor = createXml({ version: '1.0' })
      .ele(NS.metadata, 'md:EntityDescriptor', { entityID: this.sp.entityId })
      .ele('md:SPSSODescriptor', {
        protocolSupportEnumeration: NS.protocol,
        AuthnRequestsSigned: String(this.sp.signing !== null),
        WantAssertionsSigned: 'true',
      });
    if (this.sp.signing) {
      descriptor
        .ele('md:KeyDescriptor', { use: 'signing' })
        .ele(NS.signature, 'ds:KeyInfo')
        .ele('ds:X509Data')
        .ele('ds:X509Certificate')
        .txt(certificateBody(this.sp.signing.certificate));
    }
    descriptor.ele('md:NameIDFormat').txt(this.idp.nameIdFormat ?? UNSPECIFIED_NAME_ID);
    descriptor.ele('md:AssertionConsumerService', { Binding: POST_BINDING, Location: this.sp.acsUrl, index: '0', isDefault: 'true' });
    return descriptor.end({ prettyPrint: true });
  }

  /** Verifies a base64 SAMLResponse from the HTTP-POST binding; throws SamlRejection. */
  async verify(samlResponse: string, now = new Date()): Promise<VerifiedAssertion> {
    const { xml, response } = this.decode(samlResponse);
    const user = await this.postAssert(samlResponse);
    const assertion = this.signedAssertion(xml, response);
    const confirmation = this.checkAssertion(assertion, now);
    // Destination and InResponseTo of the Response may be unsigned: they only narrow what the signed assertion says.
    const destination = response.getAttribute('Destination');
    if (destination && destination !== this.sp.acsUrl) {
      throw new SamlRejection('wrong_destination', 'the response is addressed to another URL (Destination)');
    }
    const responseInResponseTo = attributeOrNull(response, 'InResponseTo');
    if (responseInResponseTo !== null && responseInResponseTo !== confirmation.inResponseTo) {
      throw new SamlRejection('in_response_to_mismatch', 'the response and its assertion answer different requests');
    }
    const assertionId = assertion.getAttribute('ID');
    if (!assertionId) throw new SamlRejection('invalid_response', 'the assertion has no ID');
    if (!user.name_id) throw new SamlRejection('missing_name_id', 'the assertion names no subject (NameID)');
    return {
      assertionId,
      nameId: user.name_id,
      inResponseTo: confirmation.inResponseTo,
      expiresAt: confirmation.expiresAt,
      attributes: Object.fromEntries(Object.entries(user.attributes ?? {}).map(([name, values]) => [name, Array.isArray(values) ? values : [values]])),
    };
  }

  private decode(samlResponse: string): { xml: string; response: Element } {
    const compact = samlResponse.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new SamlRejection('malformed', 'SAMLResponse is not base64');
    const xml = Buffer.from(compact, 'base64').toString('utf8');
    // No DTDs: entity tricks have no place in a SAML response.
    if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SamlRejection('malformed', 'the response contains a document type declaration');
    const root = parseXml(xml)?.documentElement;
    if (root?.namespaceURI !== NS.protocol || root.localName !== 'Response') {
      throw new SamlRejection('malformed', 'SAMLResponse is not a SAML 2.0 Response document');
    }
    if (root.getElementsByTagNameNS(NS.assertion, 'EncryptedAssertion').length > 0) {
      throw new SamlRejection('encrypted_assertion', 'encrypted assertions are not supported; turn assertion encryption off at the identity provider');
    }
    // Exactly one assertion anywhere: a second one is how signature-wrapping attacks smuggle theirs in.
    if (root.getElementsByTagNameNS(NS.assertion, 'Assertion').length !== 1) {
      throw new SamlRejection('assertion_count', 'the response must hold exactly one assertion');
    }
    return { xml, response: root };
  }

  private postAssert(samlResponse: string): Promise<SAMLAssertResponse['user']> {
    return new Promise((resolve, reject) => {
      this.serviceProvider.post_assert(
        this.identityProvider,
        { request_body: { SAMLResponse: samlResponse }, require_session_index: false, allow_unencrypted_assertion: true },
        (err, response) => (err ? reject(rejectionFromSaml2(err)) : resolve(response.user)),
      );
    });
  }

  /**
   * The Assertion as covered by a valid signature of the configured certificate, on the assertion
   * or on the whole response: parsed from the XML the signature verified, not from the document.
   */
  private signedAssertion(xml: string, response: Element): Element {
    const assertion = response.getElementsByTagNameNS(NS.assertion, 'Assertion')[0];
    const signatures = [...(assertion ? children(assertion, NS.signature, 'Signature') : []), ...children(response, NS.signature, 'Signature')];
    for (const signature of signatures) {
      const verifier = new SignedXml({ publicCert: this.idp.certificate });
      try {
        verifier.loadSignature(signature);
        if (!verifier.checkSignature(xml)) continue;
      } catch {
        continue;
      }
      for (const reference of verifier.getSignedReferences()) {
        const signed = parseXml(reference)?.getElementsByTagNameNS(NS.assertion, 'Assertion');
        if (signed?.length === 1 && signed[0]) return signed[0];
      }
    }
    throw new SamlRejection('invalid_signature', INVALID_SIGNATURE);
  }

  private checkAssertion(assertion: Element, now: Date): { inResponseTo: string | null; expiresAt: Date } {
    if (text(children(assertion, NS.assertion, 'Issuer')[0]) !== this.idp.entityId) {
      throw new SamlRejection('wrong_issuer', 'the assertion was issued by another identity provider (Issuer)');
    }
    const conditions = children(assertion, NS.assertion, 'Conditions')[0];
    if (!conditions) throw new SamlRejection('missing_conditions', 'the assertion has no Conditions');
    const audiences = children(conditions, NS.assertion, 'AudienceRestriction').flatMap((restriction) =>
      children(restriction, NS.assertion, 'Audience').map((audience) => text(audience)),
    );
    if (audiences.length === 0) throw new SamlRejection('missing_audience_restriction', 'the assertion has no AudienceRestriction');
    if (!audiences.includes(this.sp.entityId)) {
      throw new SamlRejection('wrong_audience', WRONG_AUDIENCE);
    }

    const subject = children(assertion, NS.assertion, 'Subject')[0];
    const bearerData = subject
      ? children(subject, NS.assertion, 'SubjectConfirmation')
          .filter((confirmation) => confirmation.getAttribute('Method') === BEARER)
          .flatMap((confirmation) => children(confirmation, NS.assertion, 'SubjectConfirmationData'))
      : [];
    if (bearerData.length === 0) throw new SamlRejection('missing_subject_confirmation', 'the assertion has no bearer SubjectConfirmationData');
    const forUs = bearerData.filter((data) => data.getAttribute('Recipient') === this.sp.acsUrl);
    if (forUs.length === 0) throw new SamlRejection('wrong_recipient', 'the assertion is addressed to another URL (Recipient)');
    const live = forUs.find((data) => (timeOf(data.getAttribute('NotOnOrAfter')) ?? -Infinity) > now.getTime());
    if (!live) {
      const undated = forUs.every((data) => timeOf(data.getAttribute('NotOnOrAfter')) === null);
      throw undated
        ? new SamlRejection('missing_subject_confirmation', 'the bearer SubjectConfirmationData has no NotOnOrAfter')
        : new SamlRejection('expired', 'the assertion has expired');
    }
    const confirmedUntil = timeOf(live.getAttribute('NotOnOrAfter')) as number;
    const conditionsUntil = timeOf(conditions.getAttribute('NotOnOrAfter')) ?? confirmedUntil;
    return {
      inResponseTo: attributeOrNull(live, 'InResponseTo'),
      expiresAt: new Date(Math.max(confirmedUntil, conditionsUntil)),
    };
  }
}
