// Stopping a started day early (the candidate unwell, a failure that cannot be mended on the
// day), against a real server: only the lead observer or a coordinator, with a reason; the day
// is over for good (nothing resumes it, no timer moves it, a restart keeps it stopped); writing
// closes at the stop and the text is frozen; the result can never be signed off; the session
// shows as stopped early with its reason in the history, and the same people can be booked
// again, with the scenario the candidate sat not drawn again and the ones they never saw free.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, WRITTEN_FRAGMENT } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import type { ModerationView } from '../../shared/moderation.ts';
import type { SessionPage } from '../../shared/programme.ts';
import { plainText } from '../../shared/written-text.ts';
import { bookShortDay, type BookedDay } from '../helpers/assessment.ts';
import { typeParagraph } from '../helpers/collab-client.ts';
import { openWritten, storedWrittenText, writtenStatus } from '../helpers/written.ts';
import { callAs } from '../helpers/moderation.ts';
import { connectAs, request, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
const WRITTEN_INDEX = 4;
const OPTIONS = { written: { graceMs: 1_000, maxTextBytes: 64 * 1024 } };

beforeAll(async () => {
  studio = await startTestStudio(OPTIONS);
});
afterAll(async () => {
  await studio?.close();
});

async function control(socket: ClientSocket, payload: Parameters<typeof request<'dayControl'>>[2]) {
  return request(socket, 'dayControl', payload);
}


const moderatorOf = (day: BookedDay): Participant => day.participants.find((p) => p.role === 'moderator')!;

describe('stopping a started day early', () => {
  it('only the lead observer or a coordinator stops a started day, with a reason, once', async () => {
    const day = bookShortDay(studio, 600);
    const lead = await connectAs(studio, day.lead);
    const observer = await connectAs(studio, day.observer);
    const candidate = await connectAs(studio, day.candidate);

    // Not before it started: that is a cancellation.
    const early = await control(lead, { action: 'stop', reason: 'Candidate unwell' });
    expect(early).toMatchObject({ ok: false, error: { code: 'CONFLICT', message: expect.stringMatching(/not started: cancel the booking/) } });
    expect((await control(lead, { action: 'start' })).ok).toBe(true);

    for (const who of [observer, candidate]) {
      expect(await control(who, { action: 'stop', reason: 'Let me out' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    // A reason is required (checked at the boundary).
    expect(await control(lead, { action: 'stop', reason: '  ' } as never)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(studio.assessment.dayState(day.sessionId)?.status).toBe('running');

    const stopped = await control(lead, { action: 'stop', reason: 'Candidate unwell' });
    expect(stopped).toMatchObject({ ok: true, data: { status: 'stopped', phaseIndex: 0, deadline: null } });
    expect(studio.audit.list(day.sessionId).at(-1)).toMatchObject({ action: 'day.stop', actor: { participantId: day.lead.id }, detail: { reason: 'Candidate unwell', fromPhaseIndex: 0 } });

    // Over for good: nothing moves it on or back.
    for (const next of [{ action: 'stop', reason: 'again' }, { action: 'resume' }, { action: 'advance', fromPhaseIndex: 0 }, { action: 'extend', seconds: 60, reason: 'more' }] as const) {
      expect(await control(lead, next)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    }
    expect(studio.assessment.dayState(day.sessionId)).toMatchObject({ status: 'stopped', phaseIndex: 0 });
    for (const s of [lead, observer, candidate]) s.disconnect();
  });

  it('closes writing at the stop, freezes what was written, and keeps the day stopped across a restart', async () => {
    const day = bookShortDay(studio, 600);
    const lead = await connectAs(studio, day.lead);
    expect((await control(lead, { action: 'start' })).ok).toBe(true);
    for (let i = 0; i < WRITTEN_INDEX; i++) expect((await control(lead, { action: 'advance', fromPhaseIndex: i })).ok).toBe(true);
    const writer = await openWritten(studio, day);
    await writer.synced;
    typeParagraph(writer.ydoc, 'Case notes so far.');
    await expect.poll(() => plainText(writer.serverView.getXmlFragment(WRITTEN_FRAGMENT))).toBe('Case notes so far.');
    expect((await writtenStatus(studio, day)).status).toBe('open');

    const before = Date.now();
    expect((await control(lead, { action: 'pause', reason: 'Candidate feels faint' })).ok).toBe(true);
    writer.close();
    await writer.closed;
    const pausedAt = studio.assessment.dayState(day.sessionId)!.pausedAt!;
    expect((await control(lead, { action: 'stop', reason: 'Candidate unwell: cannot go on' })).ok).toBe(true);
    lead.disconnect();

    // Closed when the clock stopped (the pause), long before the phase's 10-minute deadline.
    const closed = studio.db.prepare('SELECT closed_at FROM written_state WHERE session_id = ?').get(day.sessionId) as { closed_at: number | bigint };
    expect(Number(closed.closed_at)).toBe(pausedAt);
    expect(pausedAt).toBeGreaterThanOrEqual(before);
    await expect.poll(async () => (await writtenStatus(studio, day)).frozen?.text, { timeout: 15_000 }).toBe('Case notes so far.');

    // Typing kept on the device is refused after the stop, and nothing more is stored.
    typeParagraph(writer.ydoc, 'Typed after the stop.');
    const again = await openWritten(studio, day, day.candidate, writer);
    expect(await again.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/^time is up/) });
    expect(storedWrittenText(studio, day)).toBe('Case notes so far.');

    const dataDir = studio.dataDir;
    await studio.close();
    studio = await startTestStudio(OPTIONS, dataDir);
    expect(studio.assessment.dayState(day.sessionId)).toMatchObject({ status: 'stopped', phaseIndex: WRITTEN_INDEX, deadline: null, pausedAt });
    expect((await writtenStatus(studio, day)).frozen?.text).toBe('Case notes so far.');
  });

  it('is never marked or signed off, shows as stopped early with its reason, and books the same people again', async () => {
    const day = bookShortDay(studio, 600);
    const candidateSocket = await connectAs(studio, day.candidate);
    studio.assessment.control(day.lead, { action: 'start' });
    studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 0 }); // scenario 1, the candidate on stage
    studio.assessment.control(day.coordinator, { action: 'stop', reason: 'Video failed for everyone' });
    candidateSocket.disconnect();
    const ref = studio.assessment.plans.plan(day.sessionId)!.candidateRef!;
    const slots = studio.assessment.plans.slots(day.sessionId);
    const organisation = studio.sessions.organisationOf(day.sessionId) ?? studio.sessions.defaultOrganisation();

    // Scenario 1 was sat; scenario 2 was never seen and is no longer held for this session.
    expect([...studio.assessment.plans.scenariosSatBy(ref, organisation)]).toEqual([slots[0]!.scenarioId]);
    expect(studio.assessment.plans.scenariosReservedFor(ref, organisation).has(slots[1]!.scenarioId)).toBe(false);

    // Moderation: locked for good, saying why; signing off is refused.
    const moderator = moderatorOf(day);
    const view = await callAs<ModerationView>(studio, moderator, 'GET', `/moderation/sessions/${day.sessionId}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ dayComplete: false, dayStopped: true, editable: false, lockedReason: expect.stringMatching(/stopped early/) });
    const signOff = await callAs(studio, moderator, 'POST', `/moderation/sessions/${day.sessionId}/sign-off`, { outcome: {} });
    expect(signOff.status).toBe(409);
    expect(JSON.stringify(signOff.body)).toMatch(/stopped early/);
    const queue = await callAs<Array<{ sessionId: string }>>(studio, moderator, 'GET', '/moderation/queue');
    expect(queue.body.map((r) => r.sessionId)).not.toContain(day.sessionId);

    // The session's page: stopped early, who and why in the history.
    const page = await callAs<SessionPage>(studio, day.coordinator, 'GET', `/studio/sessions/${day.sessionId}`);
    expect(page.body.status).toBe('stopped');
    expect(page.body.history.find((h) => h.action === 'day.stop')).toMatchObject({ text: 'Stopped the day early. Reason: Video failed for everyone', who: expect.stringMatching(/coordinator/) });

    // Booked again: the same candidate, never scenario 1 again.
    const again = await callAs<SessionPage>(studio, day.coordinator, 'POST', `/studio/sessions/${day.sessionId}/rebook`, { scheduledStart: new Date(Date.now() + 86_400_000).toISOString() });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.candidateRef).toBe(ref);
    const drawn = studio.assessment.plans.slots(again.body.sessionId).map((s) => s.scenarioId);
    expect(drawn).toHaveLength(2);
    expect(drawn).not.toContain(slots[0]!.scenarioId);
  });
});
