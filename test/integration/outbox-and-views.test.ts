// The organisation's outbox for administrators, with sign-in links withheld (reading the
// outbox must not let anyone sign in as the person a link was for), and the audit rows for
// reading a moderation view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMessageView } from '../../shared/people.ts';
import { callAs, finishedDemoDay } from '../helpers/moderation.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;

beforeAll(async () => {
  studio = await startTestStudio();
});

afterAll(async () => {
  await studio.close();
});

/** Signs the person in by an operator's link and returns the staff cookie. */
async function staffCookie(personId: string): Promise<string> {
  const res = await fetch(`${studio.baseUrl}/auth/magic/${studio.magicLinks.issue(personId, 'admin-link', null)}`, { redirect: 'manual' });
  expect(res.headers.get('location')).toBe('/staff');
  return /simstudio_staff=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
}

describe('the outbox', () => {
  it('shows administrators what was sent, with every sign-in link withheld; nobody else may read it', async () => {
    const organisation = studio.people.createOrganisation('Eastshire');
    const admin = studio.people.create(organisation.id, { displayName: 'Ada Admin', email: 'ada@eastshire.example', roles: ['administrator'] });
    const jo = studio.people.create(organisation.id, { displayName: 'Jo Bennett', email: 'jo@eastshire.example', roles: ['coordinator'] });
    const cookie = await staffCookie(admin.id);
    const sent = await fetch(`${studio.baseUrl}/api/org/people/${jo.id}/sign-in-link`, { method: 'POST', headers: { cookie } });
    expect(sent.status).toBe(202);
    // The message itself holds a working link (it went to Jo)…
    const stored = studio.mailer.list(organisation.id)[0]!;
    expect(stored.text).toMatch(/\/auth\/magic\/[A-Za-z0-9_-]{43}/);

    // …which the administrator's outbox view does not show.
    const res = await fetch(`${studio.baseUrl}/api/org/outbox`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const outbox = (await res.json()) as OutboxMessageView[];
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ to: 'jo@eastshire.example', kind: 'staff-invitation', status: 'logged' });
    expect(outbox[0]!.text).toContain('Hello Jo Bennett');
    expect(outbox[0]!.text).toContain('[sign-in link withheld');
    expect(outbox[0]!.text).not.toMatch(/\/auth\/magic\//);

    const joCookie = await staffCookie(jo.id);
    expect((await fetch(`${studio.baseUrl}/api/org/outbox`, { headers: { cookie: joCookie } })).status).toBe(403);
  });
});

describe('reading a moderation view', () => {
  it('is audited with the reader', async () => {
    const day = finishedDemoDay(studio);
    const moderator = day.one('moderator');
    expect((await callAs(studio, moderator, 'GET', `/moderation/sessions/${day.sessionId}`)).status).toBe(200);
    const viewed = studio.audit.list(day.sessionId).filter((e) => e.action === 'moderation.viewed');
    expect(viewed.map((e) => e.actor?.participantId)).toEqual([moderator.id]);
  });
});
