// Staff sign-in end to end (issue 13), against a real studio over real HTTP: browsers are
// cookie jars that follow nothing on their own, mail is read from the studio's outbox or from a
// real SMTP server, single sign-on goes through a real OpenID provider, and the administrator's
// command line runs as a real process. Every refusal is checked for its answer, its audit row,
// and for having changed nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressObject } from 'mailparser';
import { startSmtp } from '../helpers/smtp-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InviteRow, MeResponse } from '../../shared/api.ts';
import { MAGIC_BROWSER_COOKIE, STAFF_COOKIE, type NewPerson, type OrgRole, type Person, type SignInSessionView, type StaffMeResponse } from '../../shared/people.ts';
import { loadConfig } from '../../server/config.ts';
import { oidcRedirectUri } from '../../server/identity/oidc.ts';
import { newSecret } from '../../server/identity/secrets.ts';
import { firstRunSignIn } from '../../server/people/first-run.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { startOidcProvider, type TestAccount, type TestOidcProvider } from '../helpers/oidc-provider.ts';
import { byRole, signIn as openInvite, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { studioEnv } from '../helpers/postgres.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MAGIC_PATH = /\/auth\/magic\/([A-Za-z0-9_-]{43})/;

/** A browser: its own cookies for the studio, redirects never followed (the test reads them). */
class Browser {
  readonly cookies = new Map<string, string>();
  private readonly base: string;
  readonly userAgent: string;
  constructor(base: string, userAgent = 'Test browser') {
    this.base = base;
    this.userAgent = userAgent;
  }

  async fetch(target: string, init: { method?: string; json?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(new URL(target, this.base), {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  async json<T>(target: string, init: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: T }> {
    const response = await this.fetch(target, init);
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  get staffCookie(): string | undefined {
    return this.cookies.get(STAFF_COOKIE);
  }
}

interface AuditRow {
  id: number;
  action: string;
  actor_person_id: string | null;
  organisation_id: string | null;
  session_id: string | null;
  detail: string;
}

/** Every audit row written after `mark` (the highest id when it was taken), oldest first. */
function auditSince(studio: TestStudio, mark: number): Array<Omit<AuditRow, 'detail'> & { detail: Record<string, unknown> }> {
  const rows = studio.db.prepare('SELECT id, action, actor_person_id, organisation_id, session_id, detail FROM audit_log WHERE id > ? ORDER BY id').all(mark) as unknown as AuditRow[];
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}

function auditMark(studio: TestStudio): number {
  return (studio.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log').get() as { id: number }).id;
}

function outboxCount(studio: TestStudio): number {
  return (studio.db.prepare('SELECT COUNT(*) AS n FROM mail_outbox').get() as { n: number }).n;
}

/** The studio's mail to this address, newest first. */
function mailTo(studio: TestStudio, organisationId: string, email: string) {
  return studio.mailer.list(organisationId).filter((m) => m.to === email);
}

function tokenIn(text: string): string {
  const match = MAGIC_PATH.exec(text);
  if (!match) throw new Error(`no sign-in link in: ${text}`);
  return match[1]!;
}

let counter = 0;
/** A fresh organisation with these people (emails made unique to the test). */
function organisationWith(studio: TestStudio, people: Array<Omit<NewPerson, 'email'> & { email?: string }>): { organisationId: string; people: Person[] } {
  const organisation = studio.people.createOrganisation(`Organisation ${++counter}`);
  return {
    organisationId: organisation.id,
    people: people.map((p) => studio.people.create(organisation.id, { ...p, ...(p.email ? { email: `${counter}.${p.email}` } : {}) })),
  };
}

const person = (displayName: string, email: string, ...roles: OrgRole[]) => ({ displayName, email, roles });

/** Asks for a link in this browser and opens it there: the browser is then signed in. */
async function signInByEmail(studio: TestStudio, browser: Browser, who: Person): Promise<void> {
  const before = mailTo(studio, who.organisationId, who.email!).length;
  const asked = await browser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: who.email } });
  expect(asked.status).toBe(202);
  const mail = mailTo(studio, who.organisationId, who.email!);
  expect(mail).toHaveLength(before + 1);
  const opened = await browser.fetch(`/auth/magic/${tokenIn(mail[0]!.text)}`);
  expect(opened.status).toBe(303);
  expect(opened.headers.get('location')).toBe('/staff');
  expect(browser.staffCookie).toBeDefined();
}

function expectSignInRefused(response: Response, reason: string): void {
  expect(response.status).toBe(303);
  expect(response.headers.get('location')).toBe(`/signin?error=${reason}`);
  expect(response.headers.getSetCookie().some((c) => c.startsWith(`${STAFF_COOKIE}=`))).toBe(false);
}

let studio: TestStudio;
beforeAll(async () => {
  studio = await startTestStudio();
});
afterAll(async () => {
  await studio?.close();
});

describe('magic links', () => {
  it('mails a link to staff only, signs in once in the browser that asked, and audits every refusal', async () => {
    const { organisationId, people } = organisationWith(studio, [
      person('Priya Shah', 'priya@example.org', 'leadObserver'),
      { displayName: 'Sam Carter', email: 'sam@example.org', roles: ['candidate'], candidateRef: 'C-1' },
    ]);
    const [priya, sam] = people as [Person, Person];
    const browser = new Browser(studio.baseUrl);

    // Nobody's address, and a candidate's (candidates use invite links): the same answer, no mail.
    const mailBefore = outboxCount(studio);
    for (const email of ['nobody@example.org', sam.email!]) {
      const res = await browser.fetch('/api/auth/magic-link', { method: 'POST', json: { email } });
      expect(res.status).toBe(202);
    }
    expect(outboxCount(studio)).toBe(mailBefore);
    // A malformed request is refused outright.
    expect((await browser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: 'not an address' } })).status).toBe(400);

    const asked = await browser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: priya.email!.toUpperCase() } });
    expect(asked.status).toBe(202);
    expect(browser.cookies.get(MAGIC_BROWSER_COOKIE)).toBeDefined();
    expect(outboxCount(studio)).toBe(mailBefore + 1);
    const mail = mailTo(studio, organisationId, priya.email!);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.text).toContain(`${studio.baseUrl}/auth/magic/`);
    const token = tokenIn(mail[0]!.text);

    // Opened in another browser (a forwarded mail, a stolen mailbox): refused, not spent.
    const mark = auditMark(studio);
    const elsewhere = new Browser(studio.baseUrl);
    expectSignInRefused(await elsewhere.fetch(`/auth/magic/${token}`), 'other-browser');
    expect(elsewhere.staffCookie).toBeUndefined();
    expect(studio.staffSessions.list(priya.id)).toEqual([]);
    const refusedElsewhere = studio.audit.listForOrganisation(organisationId, { action: 'signin.failed' });
    expect(refusedElsewhere).toHaveLength(1);
    expect(refusedElsewhere[0]).toMatchObject({ personId: priya.id, detail: { method: 'magic-link', reason: 'other-browser' } });

    // In the browser that asked: signed in as Priya.
    const opened = await browser.fetch(`/auth/magic/${token}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/staff');
    const me = await browser.json<StaffMeResponse>('/api/staff/me');
    expect(me.status).toBe(200);
    expect(me.body.person).toMatchObject({ id: priya.id, displayName: 'Priya Shah', email: priya.email });
    expect(me.body.organisation.id).toBe(organisationId);
    expect(studio.staffSessions.list(priya.id)).toHaveLength(1);

    // Used links and made-up links sign nobody in, and change nothing.
    const again = new Browser(studio.baseUrl);
    again.cookies.set(MAGIC_BROWSER_COOKIE, browser.cookies.get(MAGIC_BROWSER_COOKIE)!);
    expectSignInRefused(await again.fetch(`/auth/magic/${token}`), 'used');
    expectSignInRefused(await again.fetch(`/auth/magic/${newSecret()}`), 'unknown');
    expectSignInRefused(await again.fetch('/auth/magic/short'), 'unknown');
    expect(again.staffCookie).toBeUndefined();
    expect(studio.staffSessions.list(priya.id)).toHaveLength(1);

    const rows = auditSince(studio, mark).filter((r) => r.action.startsWith('signin.'));
    expect(rows.map((r) => [r.action, r.detail.reason ?? r.detail.method, r.actor_person_id])).toEqual([
      ['signin.failed', 'other-browser', priya.id],
      ['signin.succeeded', 'magic-link', priya.id],
      ['signin.failed', 'used', priya.id],
      ['signin.failed', 'unknown', null],
      ['signin.failed', 'unknown', null],
    ]);
    expect(rows.slice(0, 3).every((r) => r.organisation_id === organisationId)).toBe(true);
  });

  it('sends no more than 5 links in 15 minutes to one person', async () => {
    const { organisationId, people } = organisationWith(studio, [person('Tom Ellis', 'tom@example.org', 'observer')]);
    const tom = people[0]!;
    const browser = new Browser(studio.baseUrl);
    for (let i = 0; i < 7; i++) {
      expect((await browser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: tom.email } })).status).toBe(202);
    }
    expect(mailTo(studio, organisationId, tom.email!)).toHaveLength(5);
    expect(studio.audit.listForOrganisation(organisationId, { action: 'signin.link_sent' })).toHaveLength(5);
    const refused = studio.audit.listForOrganisation(organisationId, { action: 'signin.link_refused' });
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ personId: tom.id });
  });
});

describe('sign-in sessions', () => {
  it('lists each browser, ends one, then all', async () => {
    const { people } = organisationWith(studio, [person('Helen Price', 'helen@example.org', 'moderator')]);
    const helen = people[0]!;
    const laptop = new Browser(studio.baseUrl, 'Laptop');
    const phone = new Browser(studio.baseUrl, 'Phone');
    await signInByEmail(studio, laptop, helen);
    await signInByEmail(studio, phone, helen);

    const listed = await laptop.json<SignInSessionView[]>('/api/staff/sign-ins');
    expect(listed.status).toBe(200);
    expect(listed.body.map((s) => [s.userAgent, s.current, s.method]).sort()).toEqual([
      ['Laptop', true, 'magic-link'],
      ['Phone', false, 'magic-link'],
    ]);
    const phoneSession = listed.body.find((s) => s.userAgent === 'Phone')!;

    // Someone else cannot end Helen's sign-ins.
    const other = organisationWith(studio, [person('Jo Bennett', 'jo@example.org', 'coordinator')]).people[0]!;
    const jo = new Browser(studio.baseUrl);
    await signInByEmail(studio, jo, other);
    expect((await jo.fetch(`/api/staff/sign-ins/${phoneSession.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await phone.fetch('/api/staff/me')).status).toBe(200);

    expect((await laptop.fetch(`/api/staff/sign-ins/${phoneSession.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await phone.fetch('/api/staff/me')).status).toBe(401);
    expect((await laptop.fetch('/api/staff/me')).status).toBe(200);
    expect((await laptop.json<SignInSessionView[]>('/api/staff/sign-ins')).body.map((s) => s.userAgent)).toEqual(['Laptop']);

    await signInByEmail(studio, phone, helen);
    const everywhere = await phone.json<{ ended: number }>('/api/staff/sign-out-everywhere', { method: 'POST' });
    expect(everywhere).toEqual({ status: 200, body: { ended: 2 } });
    expect(phone.staffCookie).toBeUndefined();
    // The laptop still holds its cookie, which no longer signs anyone in.
    expect(laptop.staffCookie).toBeDefined();
    expect((await laptop.fetch('/api/staff/me')).status).toBe(401);
    expect((await phone.fetch('/api/staff/me')).status).toBe(401);
    expect(studio.audit.listForOrganisation(helen.organisationId, { personId: helen.id }).map((r) => r.action)).toEqual(
      expect.arrayContaining(['signin.revoked', 'signout.everywhere']),
    );
  });
});

describe("the organisation's people", () => {
  it('administrators manage people; coordinators cannot make administrators; observers cannot list; a removed person is signed out at once', async () => {
    const { organisationId, people } = organisationWith(studio, [
      person('Ada Admin', 'ada@example.org', 'administrator'),
      person('Cora Coordinator', 'cora@example.org', 'coordinator'),
      person('Olu Observer', 'olu@example.org', 'observer'),
    ]);
    const [ada, cora, olu] = people as [Person, Person, Person];
    const [admin, coordinator, observer] = [new Browser(studio.baseUrl), new Browser(studio.baseUrl), new Browser(studio.baseUrl)];
    await signInByEmail(studio, admin, ada);
    await signInByEmail(studio, coordinator, cora);
    await signInByEmail(studio, observer, olu);
    const mark = auditMark(studio);

    const created = await admin.json<Person>('/api/org/people', { method: 'POST', json: { displayName: 'Lee Leaver', email: `${counter}.lee@example.org`, roles: ['leadObserver'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ organisationId, displayName: 'Lee Leaver', roles: ['leadObserver'], removedAt: null });
    const lee = created.body;
    const secondAdmin = await admin.json<Person>('/api/org/people', { method: 'POST', json: { displayName: 'Bea Admin', email: `${counter}.bea@example.org`, roles: ['administrator'] } });
    expect(secondAdmin.status).toBe(201);

    // A staff role needs an email; the body is checked.
    expect((await admin.fetch('/api/org/people', { method: 'POST', json: { displayName: 'No Email', roles: ['observer'] } })).status).toBe(400);
    expect((await admin.fetch('/api/org/people', { method: 'POST', json: { displayName: 'X', email: 'x@example.org', roles: ['observer'], extra: 1 } })).status).toBe(400);

    const peopleCount = studio.people.list(organisationId).length;
    const escalate = await coordinator.fetch('/api/org/people', { method: 'POST', json: { displayName: 'Eve Escalate', email: `${counter}.eve@example.org`, roles: ['administrator'] } });
    expect(escalate.status).toBe(403);
    expect(studio.people.list(organisationId)).toHaveLength(peopleCount);
    const byCoordinator = await coordinator.json<Person>('/api/org/people', { method: 'POST', json: { displayName: 'Obi Observer', email: `${counter}.obi@example.org`, roles: ['observer'] } });
    expect(byCoordinator.status).toBe(201);

    expect((await observer.fetch('/api/org/people')).status).toBe(403);
    expect((await observer.fetch('/api/org/people', { method: 'POST', json: { displayName: 'Y', email: `${counter}.y@example.org`, roles: ['observer'] } })).status).toBe(403);
    const listed = await coordinator.json<Person[]>('/api/org/people');
    expect(listed.status).toBe(200);
    expect(listed.body.map((p) => p.displayName).sort()).toEqual(['Ada Admin', 'Bea Admin', 'Cora Coordinator', 'Lee Leaver', 'Obi Observer', 'Olu Observer']);
    // Only an administrator removes people.
    expect((await coordinator.fetch(`/api/org/people/${lee.id}`, { method: 'DELETE' })).status).toBe(403);

    // Lee signs in, and has a link from the page and one from the administrator, both unused.
    const leeBrowser = new Browser(studio.baseUrl);
    await signInByEmail(studio, leeBrowser, lee);
    expect((await leeBrowser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: lee.email } })).status).toBe(202);
    const pageLink = tokenIn(mailTo(studio, organisationId, lee.email!)[0]!.text);
    expect((await admin.fetch(`/api/org/people/${lee.id}/sign-in-link`, { method: 'POST' })).status).toBe(202);
    const invitation = mailTo(studio, organisationId, lee.email!)[0]!;
    expect(invitation.kind).toBe('staff-invitation');
    const adminLink = tokenIn(invitation.text);

    expect((await admin.fetch(`/api/org/people/${lee.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await leeBrowser.fetch('/api/staff/me')).status).toBe(401);
    expectSignInRefused(await leeBrowser.fetch(`/auth/magic/${pageLink}`), 'removed');
    expectSignInRefused(await new Browser(studio.baseUrl).fetch(`/auth/magic/${adminLink}`), 'removed');
    expect((await leeBrowser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: lee.email } })).status).toBe(202);
    expect(mailTo(studio, organisationId, lee.email!)).toHaveLength(3); // the two above and the first, no more
    expect((await admin.json<Person[]>('/api/org/people')).body.some((p) => p.id === lee.id)).toBe(false);
    // Nobody removes themselves (an organisation keeps its administrator).
    expect((await admin.fetch(`/api/org/people/${ada.id}`, { method: 'DELETE' })).status).toBe(409);

    const rows = auditSince(studio, mark);
    const actions = (action: string) => rows.filter((r) => r.action === action);
    expect(actions('person.created').map((r) => [r.actor_person_id, r.detail.personId])).toEqual([
      [ada.id, lee.id],
      [ada.id, secondAdmin.body.id],
      [cora.id, byCoordinator.body.id],
    ]);
    expect(actions('person.removed').map((r) => [r.actor_person_id, r.detail.personId, r.detail.signInsEnded])).toEqual([[ada.id, lee.id, 1]]);
    // Each refusal names who was refused: the coordinator's escalation and removal, the observer's listing and adding.
    expect(actions('access.refused').map((r) => r.actor_person_id).sort()).toEqual([cora.id, cora.id, olu.id, olu.id].sort());
    expect(rows.every((r) => r.organisation_id === organisationId || r.actor_person_id === null)).toBe(true);
  });
});

describe('no acting as another person', () => {
  it("a lead observer with a staff account has no invite link, their link is refused, and signed in they reach only their own place", async () => {
    const { organisationId, people } = organisationWith(studio, [person('Lee Lead', 'lee.lead@example.org', 'leadObserver')]);
    const lee = people[0]!;
    const template = studio.templates.saveNewVersion(shortTemplate(60, 'signin-own-place'));
    const { sessionId, participants } = studio.assessment.book(booking(template.id, { leadObserver: { displayName: 'ignored', personId: lee.id } }), Math.random, organisationId);
    const lead = byRole(participants, 'leadObserver');
    const observer = byRole(participants, 'observer');
    const coordinator = byRole(participants, 'coordinator');
    expect(lead).toMatchObject({ personId: lee.id, displayName: 'Lee Lead' });

    // The coordinator (no staff account: an invite link) sees no link for Lee.
    const coordinatorCookie = await openInvite(studio, coordinator);
    const invites = await fetch(`${studio.baseUrl}/api/studio/sessions/${sessionId}/invites?participantId=${coordinator.id}`, { headers: { cookie: coordinatorCookie } });
    expect(invites.status).toBe(200);
    const rows = (await invites.json()) as InviteRow[];
    expect(rows.find((r) => r.participantId === lead.id)?.link).toBeNull();
    // Links go to candidates and actors only; other staff, without accounts, are told to get one.
    expect(rows.filter((r) => r.role === 'candidate' || r.role === 'actor').every((r) => typeof r.link === 'string' && r.link.includes('/join/'))).toBe(true);
    expect(rows.filter((r) => r.participantId !== lead.id && r.role !== 'candidate' && r.role !== 'actor').every((r) => r.link === null && r.staffAccount === false)).toBe(true);
    expect(rows.find((r) => r.participantId === lead.id)?.staffAccount).toBe(true);

    // A link made for Lee anyway does not sign anyone in as Lee.
    const mark = auditMark(studio);
    const forged = await fetch(await studio.invites.link(studio.baseUrl, lead), { redirect: 'manual' });
    expect(forged.status).toBe(403);
    expect(forged.headers.getSetCookie()).toEqual([]);
    expect(auditSince(studio, mark).map((r) => [r.action, r.session_id])).toEqual([['invite.refused', sessionId]]);

    // Signed in as themselves, Lee is their own participant, and nobody else.
    const browser = new Browser(studio.baseUrl);
    await signInByEmail(studio, browser, lee);
    const mine = await browser.json<MeResponse>(`/api/me?participantId=${lead.id}`);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ participantId: lead.id, sessionId, role: 'leadObserver', displayName: 'Lee Lead' });
    expect((await browser.fetch(`/api/me?participantId=${observer.id}`)).status).toBe(401);
    expect((await browser.fetch(`/api/me?participantId=${coordinator.id}`)).status).toBe(401);
    const me = await browser.json<StaffMeResponse>('/api/staff/me');
    expect(me.body.assignments).toEqual([expect.objectContaining({ sessionId, role: 'leadObserver', path: expect.stringContaining(encodeURIComponent(lead.id)) })]);
  });
});

describe('single sign-on through the studio', () => {
  let op: TestOidcProvider;
  const staffAccount: TestAccount = { sub: 'op-priya', email: '', name: 'Priya at the provider' };
  const strangerAccount: TestAccount = { sub: 'op-stranger', email: 'stranger@elsewhere.example', name: 'Stranger' };
  beforeAll(async () => {
    op = await startOidcProvider({ redirectUris: [oidcRedirectUri(studio.baseUrl)], accounts: [staffAccount, strangerAccount] });
  });
  afterAll(async () => {
    await op?.close();
  });

  /** Starts single sign-on in this browser and walks the provider to the studio's callback. */
  async function throughProvider(browser: Browser, organisationId: string): Promise<URL> {
    const start = await browser.fetch(`/auth/oidc/start?organisation=${organisationId}`);
    expect(start.status).toBe(303);
    const location = start.headers.get('location')!;
    expect(location.startsWith(`${op.issuer}/`)).toBe(true);
    return op.browseToCallback(location, oidcRedirectUri(studio.baseUrl));
  }

  const callbackPath = (url: URL) => `${url.pathname}${url.search}`;

  it('signs staff in with their organisation’s provider, keeps them linked, and refuses forged callbacks and strangers', async () => {
    const { organisationId, people } = organisationWith(studio, [person('Ada Admin', 'ada@example.org', 'administrator'), person('Priya Shah', 'priya@example.org', 'observer')]);
    const [ada, priya] = people as [Person, Person];
    staffAccount.email = priya.email!.toUpperCase();
    const admin = new Browser(studio.baseUrl);
    await signInByEmail(studio, admin, ada);

    // Only an administrator sets the provider; the secret is never read back.
    const priyaBrowser = new Browser(studio.baseUrl);
    await signInByEmail(studio, priyaBrowser, priya);
    expect((await priyaBrowser.fetch('/api/org/sso', { method: 'PUT', json: op.settings })).status).toBe(403);
    expect((await admin.fetch('/api/org/sso', { method: 'PUT', json: { ...op.settings, issuer: 'http://idp.example.org' } })).status).toBe(400);
    const saved = await admin.json<Record<string, unknown>>('/api/org/sso', { method: 'PUT', json: op.settings });
    expect(saved.status).toBe(200);
    const read = await admin.json<Record<string, unknown>>('/api/org/sso');
    expect(read.body).toMatchObject({ configured: true, issuer: op.issuer, clientId: op.settings.clientId });
    expect(JSON.stringify(read.body)).not.toContain(op.settings.clientSecret);
    // Nor is it in the database in the clear.
    const stored = studio.db.prepare('SELECT client_secret FROM organisation_sso WHERE organisation_id = ?').get(organisationId) as { client_secret: string };
    expect(stored.client_secret).toMatch(/^sealed:v1:/);
    expect(stored.client_secret).not.toContain(op.settings.clientSecret);
    const offered = await new Browser(studio.baseUrl).json<Array<{ id: string; name: string }>>('/api/auth/sso');
    expect(offered.body.map((o) => o.id)).toContain(organisationId);

    // The whole journey, in a browser that has never signed in.
    const browser = new Browser(studio.baseUrl, 'SSO browser');
    const callback = await throughProvider(browser, organisationId);
    // A browser that did not start this sign-in brings its callback: refused, nothing spent.
    let mark = auditMark(studio);
    expectSignInRefused(await new Browser(studio.baseUrl).fetch(callbackPath(callback)), 'oidc');
    expect(auditSince(studio, mark).map((r) => [r.action, r.detail.method])).toEqual([['signin.failed', 'oidc']]);
    const done = await browser.fetch(callbackPath(callback));
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/staff');
    const me = await browser.json<StaffMeResponse>('/api/staff/me');
    expect(me.status).toBe(200);
    expect(me.body.person.id).toBe(priya.id);
    expect((await browser.json<SignInSessionView[]>('/api/staff/sign-ins')).body.find((s) => s.current)?.method).toBe('oidc');

    // Linked: the provider's identity decides from now on, whatever email it later gives.
    staffAccount.email = 'priya.new-address@elsewhere.example';
    const later = new Browser(studio.baseUrl);
    const laterDone = await later.fetch(callbackPath(await throughProvider(later, organisationId)));
    expect(laterDone.headers.get('location')).toBe('/staff');
    expect((await later.json<StaffMeResponse>('/api/staff/me')).body.person.id).toBe(priya.id);

    // A tampered state: refused, audited in the organisation, no cookie.
    const tamperer = new Browser(studio.baseUrl);
    const genuine = await throughProvider(tamperer, organisationId);
    const tampered = new URL(genuine);
    const state = tampered.searchParams.get('state')!;
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    mark = auditMark(studio);
    expectSignInRefused(await tamperer.fetch(callbackPath(tampered)), 'oidc');
    expect(tamperer.staffCookie).toBeUndefined();
    expect(auditSince(studio, mark)).toMatchObject([{ action: 'signin.failed', organisation_id: organisationId, detail: { method: 'oidc', reason: expect.stringMatching(/^state/) } }]);

    // A provider account that is nobody on the staff: refused.
    op.loginAs = strangerAccount.sub;
    try {
      const stranger = new Browser(studio.baseUrl);
      mark = auditMark(studio);
      expectSignInRefused(await stranger.fetch(callbackPath(await throughProvider(stranger, organisationId))), 'oidc');
      expect(stranger.staffCookie).toBeUndefined();
      expect(auditSince(studio, mark)).toMatchObject([{ action: 'signin.failed', organisation_id: organisationId, actor_person_id: null }]);
    } finally {
      op.loginAs = staffAccount.sub;
    }
    expect(studio.staffSessions.list(priya.id)).toHaveLength(3); // the magic link's, and the two single sign-ons
  });
});

describe('mail through a real SMTP server', () => {
  it('the sign-in email arrives addressed to the person with a link that signs them in', async () => {
    const smtp = await startSmtp();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-signin-smtp-'));
    const { mail } = loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_SMTP_URL: smtp.url, SIMSTUDIO_MAIL_FROM: 'SimStudio <no-reply@studio.example.org>' });
    const mailing = await startTestStudio({ mail }, dataDir);
    try {
      const organisation = mailing.people.createOrganisation('Westshire');
      const jo = mailing.people.create(organisation.id, { displayName: 'Jo Bennett', email: 'jo.bennett@westshire.example', roles: ['coordinator'] });
      const browser = new Browser(mailing.baseUrl);
      expect((await browser.fetch('/api/auth/magic-link', { method: 'POST', json: { email: jo.email } })).status).toBe(202);

      await expect.poll(() => smtp.received.length).toBe(1);
      const message = smtp.received[0]!.mail;
      expect((message.to as AddressObject).value.map((a) => a.address)).toEqual([jo.email]);
      expect(message.from?.value).toEqual([{ name: 'SimStudio', address: 'no-reply@studio.example.org' }]);
      expect(message.subject).toBe('Your SimStudio sign-in link');
      expect(message.text).toContain('Hello Jo Bennett');
      expect(message.text).toContain(`${mailing.baseUrl}/auth/magic/`);
      await expect.poll(() => mailing.mailer.list(organisation.id)[0]?.status).toBe('sent');

      const opened = await browser.fetch(new URL(message.text!.match(/https?:\/\/\S+\/auth\/magic\/[A-Za-z0-9_-]{43}/)![0]).pathname);
      expect(opened.headers.get('location')).toBe('/staff');
      expect((await browser.json<StaffMeResponse>('/api/staff/me')).body.person.id).toBe(jo.id);
    } finally {
      await mailing.close();
      await smtp.close();
    }
  });
});

/** `npm run admin -- …` as the operator runs it: a real process on the studio's data directory. */
function admin(dataDir: string, baseUrl: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['server/admin-cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...studioEnv(dataDir), SIMSTUDIO_PUBLIC_URL: baseUrl, SIMSTUDIO_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('first run and the administrator’s command line', () => {
  it('a fresh studio gives a one-time administrator link until an administrator has signed in', async () => {
    const fresh = await startTestStudio();
    try {
      const first = firstRunSignIn(fresh);
      const second = firstRunSignIn(fresh);
      expect(first).toMatch(MAGIC_PATH);
      expect(second).toMatch(MAGIC_PATH);
      expect(second).not.toBe(first);
      const administrators = fresh.people.organisations().flatMap((o) => fresh.people.list(o.id)).filter((p) => p.roles.includes('administrator'));
      expect(administrators).toHaveLength(1);

      const browser = new Browser(fresh.baseUrl);
      const opened = await browser.fetch(first!);
      expect(opened.headers.get('location')).toBe('/staff');
      const me = await browser.json<StaffMeResponse>('/api/staff/me');
      expect(me.body.person).toMatchObject({ id: administrators[0]!.id, roles: ['administrator'] });
      expect((await browser.json<SignInSessionView[]>('/api/staff/sign-ins')).body[0]?.method).toBe('first-run');
      expect(firstRunSignIn(fresh)).toBeNull();
      expectSignInRefused(await new Browser(fresh.baseUrl).fetch(first!), 'used');

      // The command line, on the running studio's data directory.
      const made = await admin(fresh.dataDir, fresh.baseUrl, 'create-organisation', '--name', 'Eastshire', '--admin-name', 'Ola Okafor', '--admin-email', 'Ola@Eastshire.example');
      expect(made.stderr).toBe('');
      expect(made.status).toBe(0);
      const out = JSON.parse(made.stdout) as { organisation: { id: string; name: string }; administrator: Person; signInLink: string };
      expect(out.organisation.name).toBe('Eastshire');
      expect(out.administrator).toMatchObject({ displayName: 'Ola Okafor', email: 'ola@eastshire.example', roles: ['administrator'] });
      expect(out.signInLink.startsWith(`${fresh.baseUrl}/auth/magic/`)).toBe(true);
      const ola = new Browser(fresh.baseUrl);
      expect((await ola.fetch(out.signInLink)).headers.get('location')).toBe('/staff');
      const olaMe = await ola.json<StaffMeResponse>('/api/staff/me');
      expect(olaMe.body.person.id).toBe(out.administrator.id);
      expect(olaMe.body.organisation).toMatchObject({ id: out.organisation.id, name: 'Eastshire' });

      // Resetting sign-in ends Ola's sign-ins and gives a new link.
      const reset = await admin(fresh.dataDir, fresh.baseUrl, 'sign-in-link', '--email', 'ola@eastshire.example');
      expect(reset.status).toBe(0);
      const resetOut = JSON.parse(reset.stdout) as { signInsEnded: number; signInLink: string };
      expect(resetOut.signInsEnded).toBe(1);
      expect((await ola.fetch('/api/staff/me')).status).toBe(401);
      expect((await ola.fetch(resetOut.signInLink)).headers.get('location')).toBe('/staff');
      expect((await ola.fetch('/api/staff/me')).status).toBe(200);

      // Bad input: exit 2, one line on stderr, nothing made.
      const organisationsBefore = fresh.people.organisations().length;
      for (const bad of [
        ['create-organisation', '--name', 'Southshire', '--admin-name', 'Sol', '--admin-email', 'not-an-address'],
        ['create-organisation', '--admin-name', 'Sol', '--admin-email', 'sol@southshire.example'],
        ['sign-in-link', '--email', 'nobody@example.org'],
      ]) {
        const result = await admin(fresh.dataDir, fresh.baseUrl, ...bad);
        expect(result.status, bad.join(' ')).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr.trimEnd().split('\n'), bad.join(' ')).toHaveLength(1);
      }
      expect(fresh.people.organisations()).toHaveLength(organisationsBefore);
    } finally {
      await fresh.close();
    }
  });
});
