// Issue 15 items 1–3 against a real server: the sessions calendar (filters, double bookings, a
// future session's page and links), changing a booking (reschedule, cancel, swap, adjustments:
// rows, audit, events, access ended), and no-shows (a scenario is sat only once the candidate
// was on stage in it; a third booking after two no-shows still finds content).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookSession } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { CalendarRow, SessionPage } from '../../shared/programme.ts';
import type { InviteRow } from '../../shared/api.ts';
import type { BookingEvent } from '../../server/programme/booking-events.ts';
import { booking, bookShortDay, shortTemplate, type BookedDay } from '../helpers/assessment.ts';
import { pollUntil } from '../helpers/browser.ts';
import { callAs } from '../helpers/moderation.ts';
import { STAFF_COOKIE } from '../../shared/people.ts';
import { connect, connectAs, connected, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let events: BookingEvent[] = [];
/** A coordinator of the default organisation (booked by name: signs in with their link). */
let coordinator: Participant;
const LONG = 'long-600s'; // six phases of 10 minutes: a one-hour day
const DAY = 86_400_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const auditActions = (sessionId: string): string[] => studio.audit.list(sessionId).map((e) => e.action);
const errorOf = (body: unknown): string => (body as { error: { message: string } }).error.message;

async function book(overrides: Partial<BookSession>, templateId = LONG): Promise<{ sessionId: string; invites: InviteRow[] }> {
  const reply = await callAs<{ sessionId: string; invites: InviteRow[] }>(studio, coordinator, 'POST', '/studio/sessions', booking(templateId, overrides));
  if (reply.status !== 201) throw new Error(`booking: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

const page = async (sessionId: string): Promise<SessionPage> => (await callAs<SessionPage>(studio, coordinator, 'GET', `/studio/sessions/${sessionId}`)).body;
const participantsOf = (sessionId: string): Participant[] => studio.sessions.listParticipants(sessionId);
const placeOf = (sessionId: string, role: Participant['role'], index = 0): Participant => participantsOf(sessionId).filter((p) => p.role === role)[index]!;

async function joinStatus(participant: Participant, link?: string): Promise<number> {
  const url = link ?? (await studio.invites.link(studio.baseUrl, participant));
  return (await fetch(url, { redirect: 'manual' })).status;
}

beforeAll(async () => {
  studio = await startTestStudio();
  studio.templates.saveNewVersion({ ...shortTemplate(600, LONG), name: 'One-hour day' });
  studio.bookingEvents.on(({ event }) => events.push(event));
  coordinator = bookShortDay(studio, 60).coordinator;
});

afterAll(async () => {
  await studio?.close();
});

describe('the sessions calendar (issue 15 item 1)', () => {
  it('lists next week’s sessions with filters, flags double bookings, and finds a future session’s page and links again', async () => {
    const nextWeek = Date.now() + 7 * DAY;
    events = [];
    const first = await book({ title: 'Calendar first', scheduledStart: iso(nextWeek) });
    expect(events).toEqual([{ kind: 'booked', sessionId: first.sessionId, organisationId: studio.sessions.organisationOf(first.sessionId) }]);
    const lead = placeOf(first.sessionId, 'leadObserver');
    // The same lead observer half an hour into the first day (overlaps), and two hours later (does not).
    const overlapping = await book({ title: 'Calendar overlapping', scheduledStart: iso(nextWeek + 30 * 60_000), leadObserver: { displayName: lead.displayName, personId: lead.personId! } });
    const later = await book({ title: 'Calendar later', scheduledStart: iso(nextWeek + 2 * 3600_000), leadObserver: { displayName: lead.displayName, personId: lead.personId! } });

    const week = (await callAs<CalendarRow[]>(studio, coordinator, 'GET', `/studio/calendar?from=${iso(nextWeek - DAY)}&to=${iso(nextWeek + DAY)}`)).body;
    expect(week.map((r) => r.title)).toEqual(['Calendar first', 'Calendar overlapping', 'Calendar later']);
    const row = (id: string): CalendarRow => week.find((r) => r.sessionId === id)!;
    expect(row(first.sessionId)).toMatchObject({ status: 'scheduled', templateId: LONG, level: 'practitioner', scheduledStart: nextWeek, scheduledEnd: nextWeek + 3600_000 });
    expect(row(first.sessionId).conflicts).toEqual([
      { personId: lead.personId, displayName: lead.displayName, otherSessionId: overlapping.sessionId, otherTitle: 'Calendar overlapping', otherStart: nextWeek + 30 * 60_000 },
    ]);
    expect(row(overlapping.sessionId).conflicts.map((c) => c.otherSessionId)).toEqual([first.sessionId]);
    expect(row(later.sessionId).conflicts).toEqual([]);
    // The coordinator is in all three (they oversee sessions side by side): not a double booking.
    expect(week.every((r) => r.people.some((p) => p.role === 'coordinator' && p.personId === coordinator.personId))).toBe(true);

    // Filters: by person, template, level, status; today's view holds none of next week's.
    const byLead = (await callAs<CalendarRow[]>(studio, coordinator, 'GET', `/studio/calendar?personId=${lead.personId}`)).body;
    expect(byLead.map((r) => r.sessionId).sort()).toEqual([first.sessionId, overlapping.sessionId, later.sessionId].sort());
    expect((await callAs<CalendarRow[]>(studio, coordinator, 'GET', '/studio/calendar?templateId=short-60s')).body.every((r) => r.templateId === 'short-60s')).toBe(true);
    expect((await callAs<CalendarRow[]>(studio, coordinator, 'GET', '/studio/calendar?level=supervisor')).body).toEqual([]);
    const today = new Date();
    today.setHours(0, 0, 0, 0);
    const todays = (await callAs<CalendarRow[]>(studio, coordinator, 'GET', `/studio/calendar?from=${iso(today.getTime())}&to=${iso(today.getTime() + DAY)}`)).body;
    expect(todays.map((r) => r.sessionId)).not.toContain(first.sessionId);
    const bad = await callAs(studio, coordinator, 'GET', '/studio/calendar?status=maybe');
    expect(bad.status).toBe(400);

    // The session's own page: people, history in words; and its links can be found again.
    const firstPage = await page(first.sessionId);
    expect(firstPage.people.map((p) => p.role).sort()).toEqual(['actor', 'actor', 'candidate', 'coordinator', 'leadObserver', 'moderator', 'observer']);
    expect(firstPage.history.map((h) => h.text)).toContain('Booked the session.');
    const links = await callAs<InviteRow[]>(studio, coordinator, 'GET', `/studio/sessions/${first.sessionId}/invites`);
    const candidate = placeOf(first.sessionId, 'candidate');
    expect(await joinStatus(candidate, links.body.find((i) => i.role === 'candidate')!.link!)).toBe(303);
    // The same link as at booking (one row), not a new one.
    expect(studio.db.prepare('SELECT COUNT(*) AS n FROM invite_links WHERE participant_id = ?').get(candidate.id)).toEqual({ n: 1 });
  });
});

describe('changing a booking (issue 15 item 2)', () => {
  it('reschedules: never into the past (nothing changed), and the links move with the day', async () => {
    const start = Date.now() + 3 * DAY;
    const { sessionId, invites } = await book({ title: 'To move', scheduledStart: iso(start) });
    const candidate = placeOf(sessionId, 'candidate');
    const validUntil = (): string => (studio.db.prepare('SELECT valid_until FROM invite_links WHERE participant_id = ? AND revoked_at IS NULL').get(candidate.id) as { valid_until: string }).valid_until;
    const before = validUntil();
    const auditBefore = auditActions(sessionId);
    events = [];

    const past = await callAs(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/reschedule`, { scheduledStart: iso(Date.now() - DAY), reason: 'Typo' });
    expect(past.status).toBe(400);
    expect(errorOf(past.body)).toMatch(/already passed/);
    const noReason = await callAs(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/reschedule`, { scheduledStart: iso(start + DAY), reason: ' ' });
    expect(noReason.status).toBe(400);
    expect(studio.assessment.plans.plan(sessionId)?.scheduledStart).toBe(start);
    expect(validUntil()).toBe(before);
    expect(auditActions(sessionId)).toEqual(auditBefore);
    expect(events).toEqual([]);

    const moved = await callAs<SessionPage>(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/reschedule`, { scheduledStart: iso(start + 5 * DAY), reason: 'Actor unavailable' });
    expect(moved.status).toBe(200);
    expect(moved.body.scheduledStart).toBe(start + 5 * DAY);
    expect(studio.assessment.dayState(sessionId)?.scheduledStart).toBe(start + 5 * DAY);
    expect(Date.parse(validUntil()) - Date.parse(before)).toBe(5 * DAY);
    const row = studio.audit.list(sessionId).at(-1)!;
    expect(row).toMatchObject({ action: 'session.rescheduled', actor: { name: coordinator.displayName }, detail: { from: start, to: start + 5 * DAY, reason: 'Actor unavailable' } });
    expect(events).toEqual([
      { kind: 'rescheduled', sessionId, organisationId: studio.sessions.organisationOf(sessionId), previousStart: iso(start), scheduledStart: iso(start + 5 * DAY) },
    ]);
    expect(moved.body.history.at(-1)?.text).toMatch(/^Moved the session from .* to .*Reason: Actor unavailable/);
    // The link handed out at booking still signs in.
    expect(await joinStatus(candidate, invites.find((i) => i.role === 'candidate')!.link!)).toBe(303);
  });

  it('cancels with a reason: live connections close, nobody joins, and it cannot be cancelled or changed again', async () => {
    const { sessionId, invites } = await book({ title: 'To cancel', scheduledStart: iso(Date.now() + 2 * DAY) });
    const candidate = placeOf(sessionId, 'candidate');
    const socket = await connectAs(studio, candidate);
    const signedOut = new Promise<void>((resolve) => socket.once('signedOut', () => resolve()));
    events = [];

    const cancelled = await callAs<SessionPage>(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/cancel`, { reason: 'Candidate withdrew' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelReason: 'Candidate withdrew' });
    expect(events).toEqual([{ kind: 'cancelled', sessionId, organisationId: studio.sessions.organisationOf(sessionId), reason: 'Candidate withdrew' }]);
    expect(studio.audit.list(sessionId).at(-1)).toMatchObject({ action: 'session.cancelled', detail: { reason: 'Candidate withdrew' } });
    await signedOut;
    await pollUntil('the cancelled session’s socket to close', 5000, async () => socket.disconnected);
    expect(await joinStatus(candidate, invites.find((i) => i.role === 'candidate')!.link!)).toBe(401);

    const auditBefore = auditActions(sessionId);
    const again = await callAs(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/cancel`, { reason: 'Twice' });
    expect(again.status).toBe(409);
    expect(errorOf(again.body)).toMatch(/cancelled/);
    const moved = await callAs(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/reschedule`, { scheduledStart: iso(Date.now() + 9 * DAY), reason: 'Back on' });
    expect(moved.status).toBe(409);
    const swapped = await callAs(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/swap`, { participantId: candidate.id, incoming: { displayName: 'Other', candidateRef: 'X-1' }, reason: 'No' });
    expect(swapped.status).toBe(409);
    expect(auditActions(sessionId)).toEqual(auditBefore);
    expect(events.length).toBe(1);
    const calendar = (await callAs<CalendarRow[]>(studio, coordinator, 'GET', '/studio/calendar?status=cancelled')).body;
    expect(calendar.map((r) => r.sessionId)).toContain(sessionId);
  });

  it('swaps the actor during the day: the old actor is cut off at once, the new one gets a link and takes the stage', async () => {
    const day: BookedDay = bookShortDay(studio, 60);
    const oldActor = day.actor1;
    const oldCookie = await signIn(studio, oldActor);
    const oldLink = await studio.invites.link(studio.baseUrl, oldActor);
    const socket = connect(studio, oldActor.id, oldCookie);
    await connected(socket);
    const signedOut = new Promise<void>((resolve) => socket.once('signedOut', () => resolve()));
    studio.assessment.control(day.lead, { action: 'start' });

    // Another organisation's actor cannot be swapped in: refused, nothing changed.
    const other = studio.people.createOrganisation('Elsewhere Trust');
    const stranger = studio.people.create(other.id, { displayName: 'Stranger Actor', roles: ['actor'] });
    const peopleBefore = studio.db.prepare('SELECT COUNT(*) AS n FROM people').get();
    const refused = await callAs(studio, coordinator, 'POST', `/studio/sessions/${day.sessionId}/swap`, {
      participantId: oldActor.id,
      incoming: { displayName: stranger.displayName, personId: stranger.id },
      reason: 'Ill',
    });
    expect(refused.status).toBe(404);
    expect(errorOf(refused.body)).toMatch(/no such person in this organisation/);
    expect(participantsOf(day.sessionId).map((p) => p.id)).toContain(oldActor.id);
    expect(studio.db.prepare('SELECT COUNT(*) AS n FROM people').get()).toEqual(peopleBefore);

    events = [];
    const swapped = await callAs<{ invite: InviteRow; page: SessionPage }>(studio, coordinator, 'POST', `/studio/sessions/${day.sessionId}/swap`, {
      participantId: oldActor.id,
      incoming: { displayName: 'Nia Newactor' },
      reason: 'Ada is ill',
    });
    expect(swapped.status).toBe(200);
    const incoming = swapped.body.invite;
    expect(incoming).toMatchObject({ role: 'actor', displayName: 'Nia Newactor' });
    expect(incoming.link).toMatch(/\/join\//);
    await signedOut;
    await pollUntil('the swapped-out actor’s socket to close', 5000, async () => socket.disconnected);
    expect(await joinStatus(oldActor, oldLink)).toBe(401);
    const newCookie = await fetch(incoming.link!, { redirect: 'manual' });
    expect(newCookie.status).toBe(303);
    // The new actor plays scenario 1 and is the one on stage in it.
    expect(studio.assessment.plans.slots(day.sessionId).find((s) => s.number === 1)?.actorParticipantId).toBe(incoming.participantId);
    studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 0 });
    expect([...studio.assessment.stageFor(day.sessionId)].sort()).toEqual([day.candidate.id, incoming.participantId].sort());
    expect(swapped.body.page.replaced.map((p) => p.participantId)).toEqual([oldActor.id]);
    expect(swapped.body.page.people.map((p) => p.participantId)).not.toContain(oldActor.id);
    expect(studio.audit.list(day.sessionId).find((e) => e.action === 'session.person_swapped')).toMatchObject({
      actor: { name: coordinator.displayName },
      detail: { role: 'actor', outgoing: { participantId: oldActor.id }, incoming: { participantId: incoming.participantId }, reason: 'Ada is ill', linksRevoked: 1 },
    });
    expect(events).toEqual([
      { kind: 'person-swapped', sessionId: day.sessionId, organisationId: studio.sessions.organisationOf(day.sessionId), role: 'actor', outgoingParticipantId: oldActor.id, incomingParticipantId: incoming.participantId },
    ]);
    // The candidate cannot be swapped once the day has started.
    const lateCandidate = await callAs(studio, coordinator, 'POST', `/studio/sessions/${day.sessionId}/swap`, { participantId: day.candidate.id, incoming: { displayName: 'Late', candidateRef: 'L-1' }, reason: 'x' });
    expect(lateCandidate.status).toBe(409);
  });

  it('swaps an observer who signs in with a staff account: their sign-in no longer reaches the session', async () => {
    const organisationId = studio.sessions.defaultOrganisation();
    const olga = studio.people.create(organisationId, { displayName: 'Olga Observer', email: `olga-${Date.now()}@example.org`, roles: ['observer'] });
    const { sessionId } = await book({ title: 'Staff swap', scheduledStart: iso(Date.now() + DAY), observers: [{ displayName: olga.displayName, personId: olga.id }] });
    const place = placeOf(sessionId, 'observer');
    expect(place.personId).toBe(olga.id);
    const cookie = `${STAFF_COOKIE}=${studio.staffSessions.create(olga.id, 'magic-link', 'vitest').secret}`;
    const overview = (): Promise<number> => fetch(`${studio.baseUrl}/api/sessions/${sessionId}/overview?participantId=${place.id}`, { headers: { cookie } }).then((r) => r.status);
    expect(await overview()).toBe(200);
    const socket = connect(studio, place.id, cookie);
    await connected(socket);

    const swapped = await callAs(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/swap`, { participantId: place.id, incoming: { displayName: 'Otto Observer' }, reason: 'Conflict of interest' });
    expect(swapped.status).toBe(200);
    await pollUntil('the swapped-out observer’s socket to close', 5000, async () => socket.disconnected);
    expect(await overview()).toBe(401);
    // Olga no longer lists the session among hers.
    expect(studio.sessions.participantsOfPerson(olga.id).map((p) => p.sessionId)).not.toContain(sessionId);
  });

  it('swaps a candidate before the day, and changes adjustments only before the day starts', async () => {
    const { sessionId } = await book({ title: 'Adjust', scheduledStart: iso(Date.now() + 4 * DAY) });
    const candidate = placeOf(sessionId, 'candidate');
    const candidateLink = await studio.invites.link(studio.baseUrl, candidate);
    const swapped = await callAs<{ invite: InviteRow; page: SessionPage }>(studio, coordinator, 'POST', `/studio/sessions/${sessionId}/swap`, {
      participantId: candidate.id,
      incoming: { displayName: 'Cleo Swapped', candidateRef: 'SWAP-1' },
      reason: 'Booked the wrong candidate',
    });
    expect(swapped.status).toBe(200);
    expect(swapped.body.page.candidateRef).toBe('SWAP-1');
    expect(studio.assessment.plans.plan(sessionId)?.candidateRef).toBe('SWAP-1');
    expect(await joinStatus(candidate, candidateLink)).toBe(401);

    events = [];
    const phasesBefore = studio.assessment.dayState(sessionId)!.phases;
    const changed = await callAs<SessionPage>(studio, coordinator, 'PUT', `/studio/sessions/${sessionId}/adjustments`, {
      adjustments: { extraTimePercent: 50, restBreakMinutes: 5, notes: 'Large print' },
      reason: 'Needs assessment received',
    });
    expect(changed.status).toBe(200);
    expect(changed.body.adjustments).toEqual({ extraTimePercent: 50, restBreakMinutes: 5, notes: 'Large print' });
    const phases = studio.assessment.dayState(sessionId)!.phases;
    expect(phases.find((p) => p.kind === 'briefing')?.durationSeconds).toBe(900);
    expect(phases.filter((p) => p.kind === 'break')).toHaveLength(1);
    expect(phases.length).toBe(phasesBefore.length + 1);
    expect(studio.audit.list(sessionId).at(-1)).toMatchObject({ action: 'session.adjustments_changed', detail: { reason: 'Needs assessment received', to: { extraTimePercent: 50 } } });
    expect(events).toEqual([{ kind: 'adjustments-changed', sessionId, organisationId: studio.sessions.organisationOf(sessionId) }]);

    // Once the day has started: refused, nothing changed.
    const started = bookShortDay(studio, 60);
    studio.assessment.control(started.lead, { action: 'start' });
    const startedPhases = studio.assessment.dayState(started.sessionId)!.phases;
    const late = await callAs(studio, coordinator, 'PUT', `/studio/sessions/${started.sessionId}/adjustments`, { adjustments: { extraTimePercent: 25, restBreakMinutes: 0, notes: '' }, reason: 'Late' });
    expect(late.status).toBe(409);
    expect(errorOf(late.body)).toMatch(/day has started/);
    expect(studio.assessment.dayState(started.sessionId)!.phases).toEqual(startedPhases);
    expect(studio.assessment.plans.plan(started.sessionId)?.adjustments.extraTimePercent).toBe(0);
  });
});

describe('no-shows and what counts as sat (issue 15 item 3)', () => {
  it('counts a scenario as sat only when the candidate was on stage in it', async () => {
    const day = bookShortDay(studio, 60);
    const socket = await connectAs(studio, day.candidate);
    studio.assessment.control(day.lead, { action: 'start' });
    studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 0 }); // scenario 1, candidate here
    expect(studio.assessment.plans.scenariosAttended(day.sessionId)).toEqual([1]);
    socket.disconnect();
    await pollUntil('the candidate to be gone', 5000, async () => !(await studio.connectedParticipantIds(day.sessionId)).has(day.candidate.id));
    studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 1 });
    studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 2 }); // scenario 2, candidate away
    expect(studio.assessment.plans.scenariosAttended(day.sessionId)).toEqual([1]);
    const ref = studio.assessment.plans.plan(day.sessionId)!.candidateRef!;
    const slots = studio.assessment.plans.slots(day.sessionId);
    expect([...studio.assessment.plans.scenariosSatBy(ref)]).toEqual([slots[0]!.scenarioId]);
    // On stage: not a no-show.
    const noShow = await callAs(studio, coordinator, 'POST', `/studio/sessions/${day.sessionId}/no-show`, { reason: 'Did not come' });
    expect(noShow.status).toBe(409);
  });

  it('a third practitioner booking for the same reference after two no-shows still draws from the starter bank', async () => {
    const ref = `NOSHOW-${Date.now()}`;
    const candidate = { displayName: 'Nora Noshow', candidateRef: ref };
    const actors = [{ displayName: 'One Actor', scenarios: [1, 2, 3] }];
    const first = await book({ title: 'No-show 1', candidate, actors, scheduledStart: iso(Date.now()) }, 'practitioner');

    // Not before its start; then marked, audited, closed to joining.
    const future = await book({ title: 'Future', scheduledStart: iso(Date.now() + DAY) });
    expect((await callAs(studio, coordinator, 'POST', `/studio/sessions/${future.sessionId}/no-show`, { reason: 'Too early' })).status).toBe(409);
    const candidatePlace = placeOf(first.sessionId, 'candidate');
    const marked = await callAs<SessionPage>(studio, coordinator, 'POST', `/studio/sessions/${first.sessionId}/no-show`, { reason: 'Did not come' });
    expect(marked.status).toBe(200);
    expect(marked.body.status).toBe('no-show');
    expect(studio.audit.list(first.sessionId).at(-1)).toMatchObject({ action: 'session.no_show', detail: { candidateParticipantId: candidatePlace.id, reason: 'Did not come' } });
    expect(await joinStatus(candidatePlace, first.invites.find((i) => i.role === 'candidate')!.link!)).toBe(401);
    const twice = await callAs(studio, coordinator, 'POST', `/studio/sessions/${first.sessionId}/no-show`, { reason: 'Again' });
    expect(twice.status).toBe(409);

    // Rebooked twice (the second time also a no-show): the same people, new draws, no refusal.
    events = [];
    const second = await callAs<SessionPage>(studio, coordinator, 'POST', `/studio/sessions/${first.sessionId}/rebook`, { scheduledStart: iso(Date.now()) });
    expect(second.status).toBe(201);
    expect(second.body.candidateRef).toBe(ref);
    expect(second.body.people.find((p) => p.role === 'candidate')?.personId).toBe(candidatePlace.personId);
    expect(events).toEqual([{ kind: 'booked', sessionId: second.body.sessionId, organisationId: studio.sessions.organisationOf(first.sessionId) }]);
    expect((await callAs(studio, coordinator, 'POST', `/studio/sessions/${second.body.sessionId}/no-show`, { reason: 'Again absent' })).status).toBe(200);
    const third = await callAs<SessionPage>(studio, coordinator, 'POST', `/studio/sessions/${second.body.sessionId}/rebook`, { scheduledStart: iso(Date.now() + DAY) });
    expect(third.status, JSON.stringify(third.body)).toBe(201);
    expect(studio.assessment.plans.slots(third.body.sessionId)).toHaveLength(3);
    expect(studio.assessment.plans.scenariosSatBy(ref).size).toBe(0);
    // A session still on is not rebooked over.
    expect((await callAs(studio, coordinator, 'POST', `/studio/sessions/${third.body.sessionId}/rebook`, { scheduledStart: iso(Date.now() + 2 * DAY) })).status).toBe(409);
  });
});
