// Staff booked by name get an account later (issue 13): the invite list hands out no link for
// them ("needs a staff account"); a coordinator adds their email; they ask for a sign-in link,
// sign in as themselves and find their session. Nobody ever holds a link that signs in as them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InviteRow, MeResponse } from '../../shared/api.ts';
import type { Person, StaffMeResponse } from '../../shared/people.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;

beforeAll(async () => {
  studio = await startTestStudio();
});

afterAll(async () => {
  await studio.close();
});

function cookieOf(res: Response, name: string): string {
  return new RegExp(`${name}=[^;]+`).exec(res.headers.get('set-cookie') ?? '')![0];
}

async function operatorSignIn(personId: string): Promise<string> {
  const res = await fetch(`${studio.baseUrl}/auth/magic/${studio.magicLinks.issue(personId, 'admin-link', null)}`, { redirect: 'manual' });
  return cookieOf(res, 'simstudio_staff');
}

describe('staff booked by name', () => {
  it('have no link; once a coordinator adds their email they sign in as themselves and find their session', async () => {
    const organisation = studio.people.createOrganisation('Southshire');
    const coordinator = studio.people.create(organisation.id, { displayName: 'Jo Bennett', email: 'jo@southshire.example', roles: ['coordinator'] });
    const admin = studio.people.create(organisation.id, { displayName: 'Ada Admin', email: 'ada@southshire.example', roles: ['administrator'] });
    studio.templates.saveNewVersion(shortTemplate(60));
    const southDay = studio.assessment.book({ ...booking('short-60s'), coordinator: { displayName: 'Jo Bennett', personId: coordinator.id } }, Math.random, organisation.id);
    expect(studio.sessions.organisationOf(southDay.sessionId)).toBe(organisation.id);
    const lead = southDay.participants.find((p) => p.role === 'leadObserver')!;
    const jo = await operatorSignIn(coordinator.id);

    const list = await fetch(`${studio.baseUrl}/api/studio/sessions/${southDay.sessionId}/invites?participantId=desk-coordinator`, { headers: { cookie: jo } });
    expect(list.status).toBe(200);
    const rows = (await list.json()) as InviteRow[];
    expect(rows.find((r) => r.participantId === lead.id)).toMatchObject({ link: null, staffAccount: false });

    // A coordinator cannot touch an administrator; an email already someone's is refused.
    expect((await fetch(`${studio.baseUrl}/api/org/people/${admin.id}`, { method: 'PATCH', headers: { cookie: jo, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'x@southshire.example' }) })).status).toBe(403);
    expect((await fetch(`${studio.baseUrl}/api/org/people/${lead.personId}`, { method: 'PATCH', headers: { cookie: jo, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@southshire.example' }) })).status).toBe(409);

    const changed = await fetch(`${studio.baseUrl}/api/org/people/${lead.personId}`, {
      method: 'PATCH',
      headers: { cookie: jo, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'lee.lead@southshire.example' }),
    });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as Person).email).toBe('lee.lead@southshire.example');
    expect(studio.audit.listForOrganisation(organisation.id, { action: 'person.changed' })[0]).toMatchObject({ personId: coordinator.id, name: 'Jo Bennett' });
    const after = (await (await fetch(`${studio.baseUrl}/api/studio/sessions/${southDay.sessionId}/invites?participantId=desk-coordinator`, { headers: { cookie: jo } })).json()) as InviteRow[];
    expect(after.find((r) => r.participantId === lead.id)).toMatchObject({ link: null, staffAccount: true });

    // Lee asks for a sign-in link in their own browser and signs in with it.
    const asked = await fetch(`${studio.baseUrl}/api/auth/magic-link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'lee.lead@southshire.example' }) });
    expect(asked.status).toBe(202);
    const browser = cookieOf(asked, 'simstudio_signin');
    const mail = studio.mailer.list(organisation.id).find((m) => m.to === 'lee.lead@southshire.example')!;
    const path = /\/auth\/magic\/[A-Za-z0-9_-]{43}/.exec(mail.text)![0];
    const opened = await fetch(`${studio.baseUrl}${path}`, { redirect: 'manual', headers: { cookie: browser } });
    expect(opened.headers.get('location')).toBe('/staff');
    const lee = cookieOf(opened, 'simstudio_staff');
    const me = (await (await fetch(`${studio.baseUrl}/api/staff/me`, { headers: { cookie: lee } })).json()) as StaffMeResponse;
    expect(me.assignments.map((a) => [a.sessionId, a.role, a.path])).toEqual([[southDay.sessionId, 'leadObserver', `/room/${lead.id}`]]);
    const own = await fetch(`${studio.baseUrl}/api/me?participantId=${lead.id}`, { headers: { cookie: lee } });
    expect(((await own.json()) as MeResponse).role).toBe('leadObserver');
  });
});
