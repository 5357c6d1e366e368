import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, auditCursor, auditEvents, expectProblem, login, registerOrganization, type Tokens, updateOrganization } from '../helpers/fixtures.js';
import { type ApiResponse, startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let service: TestServer;
let webApp: Server;
let strangerApp: Server;
let webAppOrigin: string;
let strangerOrigin: string;
let browser: Browser;

/** A blank page: the web app whose origin the passkeys' ceremonies run in. */
function blankPage(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><body>fm-auth web app</body></html>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const originOf = (server: Server) => `http://localhost:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  [webApp, strangerApp] = await Promise.all([blankPage(), blankPage()]);
  webAppOrigin = originOf(webApp);
  // The same rp id (browsers let any localhost port use it), but not an origin the service accepts.
  strangerOrigin = originOf(strangerApp);
  service = await startServer({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: webAppOrigin, WEBAUTHN_RP_NAME: 'FaultMaven QA' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
  await Promise.all([webApp, strangerApp].map((server) => new Promise((resolve) => server?.close(resolve))));
});

/** A tab of the web app with a security key plugged in: Chromium's virtual authenticator (DevTools protocol), touched at once. */
async function tabWithSecurityKey(origin = webAppOrigin): Promise<Page> {
  const page = await browser.newPage();
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('WebAuthn.enable');
  await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(`${origin}/`);
  return page;
}

/** What the web app does with the creation options: `navigator.credentials.create`, answered as `toJSON()`. */
const createPasskey = (page: Page, options: unknown): Promise<any> =>
  page.evaluate(async (json) => {
    const credential = (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(json as any) })) as PublicKeyCredential;
    return credential.toJSON();
  }, options);

const usePasskey = (page: Page, options: unknown): Promise<any> =>
  page.evaluate(async (json) => {
    const credential = (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(json as any) })) as PublicKeyCredential;
    return credential.toJSON();
  }, options);

const post = (path: string, body?: unknown, token?: string): Promise<ApiResponse> => service.request('POST', `${API}${path}`, { body, token });

/** Registration from start to finish in the tab; answers the API's 201 body and the browser's credential id. */
async function registerPasskey(page: Page, tokens: Tokens, name?: string): Promise<any> {
  const options = await post('/auth/mfa/passkeys/registration-options', undefined, tokens.access_token);
  expect(options.status, options.text).toBe(200);
  const credential = await createPasskey(page, options.body);
  const registered = await post('/auth/mfa/passkeys', { name, credential }, tokens.access_token);
  expect(registered.status, registered.text).toBe(201);
  return { ...registered.body, credentialId: credential.id };
}

async function challengeOf(account: Account): Promise<any> {
  const answer = await post('/auth/login', { email: account.email, password: account.password });
  expect(answer.status).toBe(200);
  expect(answer.body.mfa_required).toBe(true);
  return answer.body;
}

/** A password login answered with the passkey in the tab: the tokens. */
async function loginWithPasskey(page: Page, account: Account): Promise<Tokens> {
  const { challenge_token } = await challengeOf(account);
  const options = await post('/auth/mfa/passkey-options', { challenge_token });
  expect(options.status, options.text).toBe(200);
  const verified = await post('/auth/mfa/verify', { challenge_token, passkey: await usePasskey(page, options.body) });
  expect(verified.status, verified.text).toBe(200);
  return verified.body;
}

describe('passkeys as a second factor, in a real browser (headless Chromium, virtual security key)', () => {
  it('registers a passkey, then a password login asks for it, and its signature answers with amr pwd, hwk, mfa', async () => {
    const page = await tabWithSecurityKey();
    const account = await registerOrganization(service);
    const tokens = await login(service, account);
    const since = auditCursor();

    const options = await post('/auth/mfa/passkeys/registration-options', undefined, tokens.access_token);
    expect(options.body).toMatchObject({
      rp: { id: 'localhost', name: 'FaultMaven QA' },
      user: { name: account.email, displayName: 'Ada Admin' },
      attestation: 'none',
      excludeCredentials: [],
    });
    const credential = await createPasskey(page, options.body);
    const registered = await post('/auth/mfa/passkeys', { name: 'QA security key', credential }, tokens.access_token);
    expect(registered.status, registered.text).toBe(201);
    expect(registered.body.passkey).toMatchObject({ name: 'QA security key', device_type: 'single_device', backed_up: false, transports: ['usb'], last_used_at: null });
    expect(registered.body.recovery_codes).toHaveLength(10);

    const listed = await service.request('GET', `${API}/auth/mfa/passkeys`, { token: tokens.access_token });
    expect(listed.headers.get('x-total-count')).toBe('1');
    expect(listed.body).toEqual([registered.body.passkey]);
    expect((await service.request('GET', `${API}/auth/me`, { token: tokens.access_token })).body.mfa_enabled).toBe(true);

    const challenge = await challengeOf(account);
    expect(challenge.methods).toEqual(['webauthn', 'recovery_code']);
    const request = await post('/auth/mfa/passkey-options', { challenge_token: challenge.challenge_token });
    expect(request.status, request.text).toBe(200);
    expect(request.body.allowCredentials).toEqual([{ id: credential.id, type: 'public-key', transports: ['usb'] }]);
    const assertion = await usePasskey(page, request.body);
    const verified = await post('/auth/mfa/verify', { challenge_token: challenge.challenge_token, passkey: assertion });
    expect(verified.status, verified.text).toBe(200);
    expect(decodeJwt(verified.body.access_token).amr).toEqual(['pwd', 'hwk', 'mfa']);
    expect((await service.request('GET', `${API}/auth/me`, { token: verified.body.access_token })).body.email).toBe(account.email);

    // The challenge is spent: the same answer again gets nothing.
    expectProblem(await post('/auth/mfa/verify', { challenge_token: challenge.challenge_token, passkey: assertion }), 401, 'mfa_challenge_invalid');
    const used = (await service.request('GET', `${API}/auth/mfa/passkeys`, { token: tokens.access_token })).body[0];
    expect(Date.parse(used.last_used_at)).toBeGreaterThan(Date.parse(used.created_at));

    const events = await auditEvents(service, tokens, { user_id: account.userId, since });
    expect(events.find((event) => event.event_type === 'mfa.passkey_register')).toMatchObject({ status: 'success', context: { device_type: 'single_device' } });
    expect(events.find((event) => event.event_type === 'mfa.verify')).toMatchObject({ status: 'success', context: { method: 'webauthn' } });
    // No ceremony material in the trail: only ids and kinds.
    expect(JSON.stringify(events)).not.toContain(credential.response.clientDataJSON);
    await page.close();
  });

  it('refuses an answer to older options, a replayed answer, a tampered signature, and another user’s passkey', async () => {
    const page = await tabWithSecurityKey();
    const account = await registerOrganization(service);
    const tokens = await login(service, account);
    await registerPasskey(page, tokens);
    const since = auditCursor();
    const other = await registerOrganization(service);
    const { credentialId: otherCredentialId } = await registerPasskey(page, await login(service, other));

    // Answered before asking for options: nothing to verify against.
    const first = await challengeOf(account);
    const firstOptions = (await post('/auth/mfa/passkey-options', { challenge_token: first.challenge_token })).body;
    const firstAnswer = await usePasskey(page, firstOptions);
    const fresh = await challengeOf(account);
    expectProblem(await post('/auth/mfa/verify', { challenge_token: fresh.challenge_token, passkey: firstAnswer }), 401, 'mfa_passkey_invalid');

    // New options replace the earlier ones: an answer to the first is refused, an answer to the latest accepted.
    const stale = (await post('/auth/mfa/passkey-options', { challenge_token: first.challenge_token })).body;
    expect(stale.challenge).not.toBe(firstOptions.challenge);
    expectProblem(await post('/auth/mfa/verify', { challenge_token: first.challenge_token, passkey: firstAnswer }), 401, 'mfa_passkey_invalid');

    const tampered = await usePasskey(page, (await post('/auth/mfa/passkey-options', { challenge_token: first.challenge_token })).body);
    const signature = Buffer.from(tampered.response.signature, 'base64url');
    signature.writeUInt8(signature.readUInt8(signature.length - 1) ^ 0x01, signature.length - 1);
    expectProblem(
      await post('/auth/mfa/verify', {
        challenge_token: first.challenge_token,
        passkey: { ...tampered, response: { ...tampered.response, signature: signature.toString('base64url') } },
      }),
      401,
      'mfa_passkey_invalid',
    );

    // The other user's passkey signing this user's challenge: a valid signature, by the wrong key.
    const options = (await post('/auth/mfa/passkey-options', { challenge_token: first.challenge_token })).body;
    const foreign = await usePasskey(page, { ...options, allowCredentials: [{ id: otherCredentialId, type: 'public-key' }] });
    expect(foreign.id).toBe(otherCredentialId);
    // Five wrong answers spend a challenge: this is the third.
    expectProblem(await post('/auth/mfa/verify', { challenge_token: first.challenge_token, passkey: foreign }), 401, 'mfa_passkey_invalid');

    const refusals = (await auditEvents(service, tokens, { user_id: account.userId, event_type: 'mfa.verify', since })).reverse();
    expect(refusals.map((event) => [event.status, event.context.reason])).toEqual([
      ['failure', 'no_options'],
      ['failure', 'assertion_invalid'],
      ['failure', 'assertion_invalid'],
      ['failure', 'unknown_passkey'],
    ]);
    await page.close();
  });

  it('refuses a registration from another origin, for other options, or answered twice', async () => {
    const account = await registerOrganization(service);
    const tokens = await login(service, account);

    const stranger = await tabWithSecurityKey(strangerOrigin);
    const strangerOptions = await post('/auth/mfa/passkeys/registration-options', undefined, tokens.access_token);
    expectProblem(await post('/auth/mfa/passkeys', { credential: await createPasskey(stranger, strangerOptions.body) }, tokens.access_token), 422, 'passkey_registration_invalid');
    await stranger.close();

    const page = await tabWithSecurityKey();
    const older = (await post('/auth/mfa/passkeys/registration-options', undefined, tokens.access_token)).body;
    const newer = await post('/auth/mfa/passkeys/registration-options', undefined, tokens.access_token);
    expect(newer.body.challenge).not.toBe(older.challenge);
    const madeForOlder = await createPasskey(page, older);
    expectProblem(await post('/auth/mfa/passkeys', { credential: madeForOlder }, tokens.access_token), 422, 'passkey_registration_invalid');
    // Each options' challenge is answered once, right or wrong.
    expectProblem(await post('/auth/mfa/passkeys', { credential: madeForOlder }, tokens.access_token), 409, 'passkey_registration_not_started');
    expectProblem(await post('/auth/mfa/passkeys', { credential: { id: 'x' } }, tokens.access_token), 422, 'request_invalid');

    // A registered passkey is excluded from the next options, so the browser will not make it twice.
    const registered = await registerPasskey(page, tokens);
    const again = (await post('/auth/mfa/passkeys/registration-options', undefined, tokens.access_token)).body;
    expect(again.excludeCredentials.map((descriptor: { id: string }) => descriptor.id)).toHaveLength(1);
    expect(registered.recovery_codes).toHaveLength(10);
    await page.close();
  });

  it('enrols a passkey during a login the organization’s require_mfa holds back, and finishes that login with it', async () => {
    const page = await tabWithSecurityKey();
    const account = await registerOrganization(service);
    await updateOrganization(service, await login(service, account), account.organizationId, { require_mfa: true });
    const challenge = await challengeOf(account);
    expect(challenge).toMatchObject({ mfa_enrollment_required: true, methods: ['totp', 'webauthn'] });
    const { challenge_token } = challenge;

    // The enrolment challenge answers no verification, and a wrong registration counts against it.
    expectProblem(await post('/auth/mfa/passkey-options', { challenge_token }), 401, 'mfa_challenge_invalid');
    const options = await post('/auth/mfa/challenge/passkeys/registration-options', { challenge_token });
    expect(options.status, options.text).toBe(200);
    expect(options.body.user.name).toBe(account.email);
    const credential = await createPasskey(page, options.body);
    const tampered = { ...credential, response: { ...credential.response, clientDataJSON: Buffer.from('{"type":"webauthn.create"}').toString('base64url') } };
    expectProblem(await post('/auth/mfa/challenge/passkeys', { challenge_token, credential: tampered }), 422, 'passkey_registration_invalid');

    const again = await post('/auth/mfa/challenge/passkeys/registration-options', { challenge_token });
    const enrolled = await post('/auth/mfa/challenge/passkeys', { challenge_token, name: 'Required key', credential: await createPasskey(page, again.body) });
    expect(enrolled.status, enrolled.text).toBe(200);
    expect(enrolled.body.recovery_codes).toHaveLength(10);
    expect(decodeJwt(enrolled.body.access_token).amr).toEqual(['pwd', 'hwk', 'mfa']);
    expect((await service.request('GET', `${API}/auth/mfa/passkeys`, { token: enrolled.body.access_token })).body.map((passkey: { name: string }) => passkey.name)).toEqual([
      'Required key',
    ]);
    expectProblem(await post('/auth/mfa/challenge/passkeys', { challenge_token, credential }), 401, 'mfa_challenge_invalid');

    // From now on the passkey answers this user's logins.
    expect((await challengeOf(account)).methods).toEqual(['webauthn', 'recovery_code']);
    expect((await loginWithPasskey(page, account)).access_token).toEqual(expect.any(String));
    await page.close();
  });

  it('removes a passkey only from a session proved with a second factor, keeps the last one when the organization requires MFA', async () => {
    const page = await tabWithSecurityKey();
    const account = await registerOrganization(service);
    const passwordTokens = await login(service, account);
    const { passkey } = await registerPasskey(page, passwordTokens, 'Laptop');
    const removal = (tokens: Tokens, id = passkey.id) => service.request('DELETE', `${API}/auth/mfa/passkeys/${id}`, { token: tokens.access_token });

    expectProblem(await removal(passwordTokens), 403, 'mfa_step_up_required');
    const strongTokens = await loginWithPasskey(page, account);
    expectProblem(await removal(strongTokens, '00000000-0000-4000-8000-000000000000'), 404, 'passkey_not_found');

    await updateOrganization(service, strongTokens, account.organizationId, { require_mfa: true });
    expectProblem(await removal(strongTokens), 403, 'mfa_required_by_organization');
    await updateOrganization(service, strongTokens, account.organizationId, { require_mfa: false });

    expect((await removal(strongTokens)).status).toBe(204);
    expect((await service.request('GET', `${API}/auth/mfa/passkeys`, { token: strongTokens.access_token })).body).toEqual([]);
    // No factor left: the password alone logs in again.
    expect((await login(service, account)).access_token).toEqual(expect.any(String));
    await page.close();
  });
});
