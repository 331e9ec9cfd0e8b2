// Passkeys (issue 13): registration and sign-in over the studio's real routes, with a software
// authenticator making real keys and signatures, and every refusal the routes owe: a challenge
// the server never issued, one used already (a replayed answer), one of another sign-in, an
// unknown credential, another origin, a counter that did not move, a removed person.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PasskeyView } from '../../shared/passkeys.ts';
import { STAFF_COOKIE, type Person } from '../../shared/people.ts';
import { Passkeys, relyingPartyFor } from '../../server/identity/passkeys.ts';
import { PasskeyRepo } from '../../server/identity/passkeys-repo.ts';
import { assert, attest, newCredential, type SoftCredential } from '../helpers/soft-authenticator.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let organisationId: string;
let rpId: string;
let origin: string;

beforeAll(async () => {
  // Passkeys need a host name (browsers refuse an IP address as the relying party).
  studio = await startTestStudio({ host: 'localhost' });
  organisationId = studio.people.createOrganisation('Northshire Council').id;
  rpId = new URL(studio.baseUrl).hostname;
  origin = new URL(studio.baseUrl).origin;
});
afterAll(async () => {
  await studio?.close();
});

let emailCount = 0;
function staffMember(name: string): { person: Person; cookie: string } {
  const person = studio.people.create(organisationId, { displayName: name, email: `staff${++emailCount}@northshire.example`, roles: ['observer'] });
  return { person, cookie: cookieFor(person) };
}

function cookieFor(person: Person): string {
  return `${STAFF_COOKIE}=${studio.staffSessions.create(person.id, 'magic-link', 'test').secret}`;
}

async function call(method: string, path: string, options: { cookie?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${studio.baseUrl}/api${path}`, {
    method,
    headers: { ...(options.cookie ? { cookie: options.cookie } : {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? null : JSON.stringify(options.body),
  });
}

async function registerPasskey(cookie: string): Promise<SoftCredential> {
  const options = (await (await call('GET', '/staff/passkeys/options', { cookie })).json()) as Parameters<typeof attest>[0];
  const { credential, response } = attest(options, origin);
  const res = await call('POST', '/staff/passkeys/verify', { cookie, body: response });
  expect(res.status).toBe(201);
  return credential;
}

async function signInChallenge(): Promise<string> {
  const res = await call('POST', '/auth/passkey/options', { body: {} });
  expect(res.status).toBe(200);
  const options = (await res.json()) as { challenge: string; rpId: string; allowCredentials?: unknown[] };
  expect(options.rpId).toBe(rpId);
  expect(options.allowCredentials ?? []).toEqual([]); // usernameless: the browser offers its own
  return options.challenge;
}

function failedSignIns(personId?: string) {
  return studio.audit.listForOrganisation(organisationId, { action: 'signin.failed', ...(personId ? { personId } : {}) }).filter((e) => e.detail.method === 'passkey');
}

describe('passkeys', () => {
  it('registers a passkey for the signed-in person, lists it to them alone, and signs in with it', async () => {
    const { person, cookie } = staffMember('Priya Shah');
    const credential = await registerPasskey(cookie);

    const mine = (await (await call('GET', '/staff/passkeys', { cookie })).json()) as PasskeyView[];
    expect(mine.map((p) => [p.id, p.transports])).toEqual([[credential.id, ['internal']]]);
    const other = staffMember('Tom Ellis');
    expect(await (await call('GET', '/staff/passkeys', { cookie: other.cookie })).json()).toEqual([]);
    expect((await call('DELETE', `/staff/passkeys/${credential.id}`, { cookie: other.cookie })).status).toBe(404);

    const challenge = await signInChallenge();
    const res = await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, challenge, origin) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ redirect: '/staff' });
    const staffCookie = new RegExp(`${STAFF_COOKIE}=([^;]+)`).exec(res.headers.get('set-cookie') ?? '')?.[1];
    expect(staffCookie).toBeTruthy();
    const me = (await (await call('GET', '/staff/me', { cookie: `${STAFF_COOKIE}=${staffCookie}` })).json()) as { person: Person };
    expect(me.person.id).toBe(person.id);
    const signIns = (await (await call('GET', '/staff/sign-ins', { cookie })).json()) as Array<{ method: string }>;
    expect(signIns.map((s) => s.method).sort()).toEqual(['magic-link', 'passkey']);
    const succeeded = studio.audit.listForOrganisation(organisationId, { action: 'signin.succeeded', personId: person.id });
    expect(succeeded.map((e) => e.detail.method)).toContain('passkey');
    expect(((await (await call('GET', '/staff/passkeys', { cookie })).json()) as PasskeyView[])[0]!.lastUsedAt).not.toBeNull();
  });

  it('refuses a replayed answer, a challenge it never issued, and another origin', async () => {
    const { person, cookie } = staffMember('Helen Price');
    const credential = await registerPasskey(cookie);

    const answer = assert(credential, rpId, await signInChallenge(), origin);
    expect((await call('POST', '/auth/passkey/verify', { body: answer })).status).toBe(200);
    const replay = await call('POST', '/auth/passkey/verify', { body: answer });
    expect(replay.status).toBe(400);
    expect(replay.headers.get('set-cookie')).toBeNull();

    const invented = await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, Buffer.from('not-from-the-server-0123456789ab').toString('base64url'), origin) });
    expect(invented.status).toBe(400);

    const elsewhere = await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, await signInChallenge(), 'https://phish.example') });
    expect(elsewhere.status).toBe(401);
    // The challenge was spent by the refused answer: the right origin cannot reuse it.
    const failedChallenge = await signInChallenge();
    expect((await call('POST', '/auth/passkey/verify', { body: assert(credential, 'phish.example', failedChallenge, origin) })).status).toBe(401);
    expect((await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, failedChallenge, origin) })).status).toBe(400);

    expect(failedSignIns(person.id).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a counter that did not move (a cloned passkey)', async () => {
    const { person, cookie } = staffMember('Sam Okafor');
    const credential = await registerPasskey(cookie);
    credential.counter = 5;
    expect((await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, await signInChallenge(), origin) })).status).toBe(200);
    credential.counter = 5; // the clone still has the old count
    const cloned = await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, await signInChallenge(), origin) });
    expect(cloned.status).toBe(401);
    expect(failedSignIns(person.id).map((e) => e.detail.reason).join()).toMatch(/counter/i);
  });

  it('refuses an unknown credential, audited without a person', async () => {
    const stranger = newCredential(Buffer.from('nobody').toString('base64url')).credential;
    const before = failedSignIns().length;
    const res = await call('POST', '/auth/passkey/verify', { body: assert(stranger, rpId, await signInChallenge(), origin) });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    const after = failedSignIns();
    // Audit rows without a person carry no organisation: read them from the whole log.
    const unknown = studio.db.prepare("SELECT detail FROM audit_log WHERE action = 'signin.failed' AND actor_person_id IS NULL").all() as Array<{ detail: string }>;
    expect(unknown.map((r) => JSON.parse(r.detail) as { reason: string }).some((d) => d.reason === 'unknown passkey')).toBe(true);
    expect(after.length).toBe(before);
  });

  it('refuses a removed person, audited with them', async () => {
    const { person, cookie } = staffMember('Alex Morgan');
    const credential = await registerPasskey(cookie);
    studio.people.remove(person.id);
    const res = await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, await signInChallenge(), origin) });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(failedSignIns(person.id).map((e) => e.detail.reason)).toContain('removed');
  });

  it('binds a registration challenge to the sign-in that asked for it, and registers nothing without one', async () => {
    const first = staffMember('Jo Bennett');
    const second = staffMember('Ravi Patel');
    const options = (await (await call('GET', '/staff/passkeys/options', { cookie: first.cookie })).json()) as Parameters<typeof attest>[0];
    const { response } = attest(options, origin);
    expect((await call('POST', '/staff/passkeys/verify', { cookie: second.cookie, body: response })).status).toBe(400);
    // Nor by the same person from another of their sign-ins.
    expect((await call('POST', '/staff/passkeys/verify', { cookie: cookieFor(first.person), body: response })).status).toBe(400);
    // And the challenge is gone for its owner too: it was taken by the first answer.
    expect((await call('POST', '/staff/passkeys/verify', { cookie: first.cookie, body: response })).status).toBe(400);
    expect(await (await call('GET', '/staff/passkeys', { cookie: first.cookie })).json()).toEqual([]);
    expect(await (await call('GET', '/staff/passkeys', { cookie: second.cookie })).json()).toEqual([]);

    expect((await call('GET', '/staff/passkeys/options')).status).toBe(401);
    expect((await call('POST', '/staff/passkeys/verify', { body: response })).status).toBe(401);
    expect((await call('POST', '/staff/passkeys/verify', { cookie: first.cookie, body: { id: 'x' } })).status).toBe(400);
    expect((await call('POST', '/auth/passkey/verify', { body: { hello: 'world' } })).status).toBe(400);
  });

  it('removes a passkey, after which it signs in no more', async () => {
    const { cookie } = staffMember('Mina Clarke');
    const credential = await registerPasskey(cookie);
    expect((await call('DELETE', `/staff/passkeys/${credential.id}`, { cookie })).status).toBe(204);
    expect(await (await call('GET', '/staff/passkeys', { cookie })).json()).toEqual([]);
    expect((await call('POST', '/auth/passkey/verify', { body: assert(credential, rpId, await signInChallenge(), origin) })).status).toBe(401);
  });

  it('says passkeys need a host name when the studio is reached by IP address', async () => {
    const byAddress = new Passkeys(new PasskeyRepo(studio.db), () => relyingPartyFor('http://127.0.0.1:3000'));
    expect(await byAddress.authenticationOptions()).toMatchObject({ ok: false, status: 409, reason: expect.stringMatching(/host name/) });
    const { person } = staffMember('Ada Byrne');
    expect(await byAddress.registrationOptions(person, { personId: person.id, staffSessionId: 'any' })).toMatchObject({ ok: false, status: 409 });
    const byName = new Passkeys(new PasskeyRepo(studio.db), () => relyingPartyFor('https://studio.example.org'));
    expect(await byName.authenticationOptions()).toMatchObject({ rpId: 'studio.example.org' });
  });
});
