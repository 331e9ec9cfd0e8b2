// Observer calibration over HTTP against a real studio: a coordinator makes a case of a
// recorded scenario of a signed-off session (the final marks copied as the reference); observers
// of other sessions watch that case's recordings and no others, score it once without seeing the
// reference or their peers, then see their differences; attempts feed stringency rows and, when
// required, the booking gate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CalibrationCaseSummary, CalibrationCaseView, CalibrationResult, CalibrationSource } from '../../shared/calibration.ts';
import type { Participant } from '../../shared/domain.ts';
import { demoBooking } from '../../server/demo.ts';
import { calibrationRatings } from '../../server/calibration/calibration-repo.ts';
import { signOffDemoDay, storedRecording } from '../helpers/calibration.ts';
import { callAs, finishedDemoDay, type FinishedDay } from '../helpers/moderation.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let day: FinishedDay;
/** Observers of other sessions, who may be calibrated on this one. */
let ana: Participant;
let ben: Participant;
let outsiderCoordinator: Participant;
const recordings: Record<string, { id: string; bytes: Buffer }> = {};

const errorOf = (body: unknown): string => (body as { error: { message: string } }).error.message;

function stored(participantId: string, scenario: number, n: number, status?: string): { id: string; bytes: Buffer } {
  return storedRecording(studio, day.sessionId, participantId, scenario, n, Buffer.from(`webm of scenario ${scenario} by ${participantId}`), status);
}

function otherSession(lead: string, observer: string): Participant[] {
  const { participants } = studio.assessment.book({ ...demoBooking(), candidate: { displayName: 'Kim Other', candidateRef: `other-${lead}` }, leadObserver: { displayName: lead }, observers: [{ displayName: observer }] });
  return participants;
}

beforeAll(async () => {
  studio = await startTestStudio();
  day = finishedDemoDay(studio, { candidate: { displayName: 'Sam Carter', candidateRef: 'REG-7001' } });
  recordings.candidate1 = stored(day.one('candidate').id, 1, 1);
  recordings.actor1 = stored(day.one('actor').id, 1, 2);
  recordings.candidate2 = stored(day.one('candidate').id, 2, 3);
  // The lead observer's backup of scenario 1: a capture of their page, which names the candidate.
  recordings.backup1 = stored(day.one('leadObserver').id, 1, 4, 'fallback');
  const first = otherSession('Ana Lead', 'Ben Observer');
  ana = first.find((p) => p.role === 'leadObserver')!;
  ben = first.find((p) => p.role === 'observer')!;
  outsiderCoordinator = first.find((p) => p.role === 'coordinator')!;
});
afterAll(async () => {
  await studio.close();
});

let caseId = '';
let reference: Record<string, number> = {};

describe('calibration cases', () => {
  it('refuses a case of a session not yet signed off', async () => {
    const res = await callAs(studio, day.one('coordinator'), 'POST', '/calibration/cases', { sessionId: day.sessionId, scenario: 1, consent: { candidate: true, actor: true } });
    expect(res.status).toBe(409);
    expect(errorOf(res.body)).toMatch(/signed-off/);
  });

  it('signs the session off, one scenario 1 mark moderated', async () => {
    const signed = await signOffDemoDay(studio, day);
    reference = signed.reference;
    const changedTo = signed.changedTo;
    expect(studio.moderation.repo.status(day.sessionId)).toBe('signedOff');
    expect(reference['kss-2']).toBe(changedTo);
    expect(Object.keys(reference)).toEqual(['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9']);
  });

  it('lists recorded scenarios of signed-off sessions to coordinators only', async () => {
    const res = await callAs<CalibrationSource[]>(studio, outsiderCoordinator, 'GET', '/calibration/sources');
    expect(res.status).toBe(200);
    expect(res.body.filter((s) => s.sessionId === day.sessionId).map((s) => [s.scenario, s.recordings, s.caseId])).toEqual([
      [1, 2, null],
      [2, 1, null],
    ]);
    for (const role of ['candidate', 'actor', 'observer', 'leadObserver', 'moderator'] as const) {
      expect((await callAs(studio, day.one(role), 'GET', '/calibration/sources')).status, role).toBe(403);
    }
  });

  it('lets only a coordinator make a case, with both consents confirmed; the final marks become the reference, audited', async () => {
    const body = { sessionId: day.sessionId, scenario: 1, consent: { candidate: true, actor: true } };
    for (const role of ['candidate', 'actor', 'observer', 'leadObserver', 'moderator'] as const) {
      expect((await callAs(studio, day.one(role), 'POST', '/calibration/cases', body)).status, role).toBe(403);
    }
    const noConsent = await callAs(studio, day.one('coordinator'), 'POST', '/calibration/cases', { ...body, consent: { candidate: true, actor: false } });
    expect(noConsent.status).toBe(400);
    expect(errorOf(noConsent.body)).toMatch(/actor consented/);
    const unrecorded = await callAs(studio, day.one('coordinator'), 'POST', '/calibration/cases', { ...body, scenario: 3 });
    expect(unrecorded.status).toBe(409);
    expect(errorOf(unrecorded.body)).toMatch(/no recording/);

    const made = await callAs<{ id: string; reference: Record<string, number> }>(studio, day.one('coordinator'), 'POST', '/calibration/cases', body);
    expect(made.status).toBe(201);
    expect(made.body.reference).toEqual(reference);
    caseId = made.body.id;
    expect((await callAs(studio, day.one('coordinator'), 'POST', '/calibration/cases', body)).status).toBe(409);

    const entry = studio.audit.list(day.sessionId).find((e) => e.action === 'calibration.caseCreated')!;
    expect(entry.actor).toMatchObject({ name: 'Jo Bennett', role: 'coordinator' });
    expect(entry.detail).toMatchObject({ caseId, reference, consent: { candidate: true, actor: true, confirmedBy: 'Jo Bennett' } });
    const row = studio.db.prepare('SELECT consent_candidate, consent_actor, created_by_name, created_at FROM calibration_cases WHERE id = ?').get(caseId) as Record<string, unknown>;
    expect(row).toMatchObject({ consent_candidate: 1, consent_actor: 1, created_by_name: 'Jo Bennett' });
    // The reference is a copy: it never moves, down to the database.
    expect(() => studio.db.prepare("UPDATE calibration_cases SET reference = '{}' WHERE id = ?").run(caseId)).toThrow(/never changed/);
  });
});

describe('scoring a case', () => {
  it('lists cases to observers of any session (the source session’s own observers cannot take it), to no candidate, actor or moderator', async () => {
    const mine = await callAs<CalibrationCaseSummary[]>(studio, ana, 'GET', '/calibration/cases');
    expect(mine.status).toBe(200);
    expect(mine.body.find((c) => c.id === caseId)).toMatchObject({ status: 'open', domains: 5 });
    expect(mine.body.find((c) => c.id === caseId)).not.toHaveProperty('attempts');
    const live = await callAs<CalibrationCaseSummary[]>(studio, day.one('observer'), 'GET', '/calibration/cases');
    expect(live.body.find((c) => c.id === caseId)?.status).toBe('observedLive');
    for (const role of ['candidate', 'actor', 'moderator'] as const) {
      expect((await callAs(studio, day.one(role), 'GET', '/calibration/cases')).status, role).toBe(403);
      expect((await callAs(studio, day.one(role), 'GET', `/calibration/cases/${caseId}`)).status, role).toBe(403);
    }
    expect((await callAs(studio, day.one('observer'), 'GET', `/calibration/cases/${caseId}`)).status).toBe(403);
  });

  it('shows an observer the case without the candidate’s name, the reference or anyone’s scores before they submit', async () => {
    const res = await callAs<CalibrationCaseView>(studio, ana, 'GET', `/calibration/cases/${caseId}`);
    expect(res.status).toBe(200);
    expect(res.body.result).toBeNull();
    expect(res.body.domains.map((d) => d.id)).toEqual(Object.keys(reference));
    expect(res.body.scale.map((s) => s.label)).toEqual(['Clear fail', 'Borderline', 'Meets the standard', 'Exceeds']);
    expect(res.body.globalScale).toHaveLength(7);
    expect(res.body.recordings.map((r) => [r.label, r.id, r.offsetMs]).sort()).toEqual([
      ['Actor', recordings.actor1!.id, 250],
      ['Candidate', recordings.candidate1!.id, 250],
    ]);
    const text = res.raw.toString();
    for (const secret of ['Sam Carter', 'REG-7001', 'Alex Morgan', 'Priya Shah', 'Tom Ellis', 'reference', day.sessionId]) expect(text).not.toContain(secret);
    const viewed = studio.db.prepare("SELECT actor_name, detail FROM audit_log WHERE action = 'calibration.caseViewed'").all() as Array<{ actor_name: string; detail: string }>;
    expect(viewed.map((v) => [v.actor_name, JSON.parse(v.detail).caseId])).toContainEqual(['Ana Lead', caseId]);
  });

  it('streams the case’s recordings to observers of other sessions, and no other recording', async () => {
    const own = await callAs(studio, ana, 'GET', `/calibration/cases/${caseId}/recordings/${recordings.actor1!.id}/media`);
    expect(own.status).toBe(200);
    expect(own.type).toBe('video/webm');
    expect(own.raw.equals(recordings.actor1!.bytes)).toBe(true);
    // Each playback is audited with who played it (issue 13).
    const played = studio.db.prepare("SELECT actor_name, detail FROM audit_log WHERE action = 'recording.played'").all() as Array<{ actor_name: string; detail: string }>;
    expect(played.map((p) => [p.actor_name, JSON.parse(p.detail).recordingId])).toContainEqual(['Ana Lead', recordings.actor1!.id]);
    const moderator = day.one('moderator');
    expect((await callAs(studio, moderator, 'GET', `/recordings/${recordings.candidate1!.id}/media`)).status).toBe(200);
    expect(studio.audit.list(day.sessionId).filter((e) => e.action === 'recording.played').map((e) => [e.actor?.participantId, e.detail.recordingId])).toContainEqual([
      moderator.id,
      recordings.candidate1!.id,
    ]);
    // Scenario 2 of the same session is not the case; the general route keeps to one's own session.
    expect((await callAs(studio, ana, 'GET', `/calibration/cases/${caseId}/recordings/${recordings.candidate2!.id}/media`)).status).toBe(404);
    expect((await callAs(studio, ana, 'GET', `/calibration/cases/${caseId}/recordings/${recordings.backup1!.id}/media`)).status).toBe(404);
    expect((await callAs(studio, ana, 'GET', `/recordings/${recordings.candidate1!.id}/media`)).status).toBe(403);
    expect((await callAs(studio, ana, 'GET', `/sessions/${day.sessionId}/recordings`)).status).toBe(403);
    for (const role of ['candidate', 'actor', 'moderator'] as const) {
      expect((await callAs(studio, day.one(role), 'GET', `/calibration/cases/${caseId}/recordings/${recordings.actor1!.id}/media`)).status, role).toBe(403);
    }
    expect((await callAs(studio, day.one('leadObserver'), 'GET', `/calibration/cases/${caseId}/recordings/${recordings.actor1!.id}/media`)).status).toBe(403);
  });

  it('takes one attempt per observer, every scored domain 1–4 and a 1–7 global; shows the differences after', async () => {
    const within = Object.fromEntries(Object.entries(reference).map(([id, r]) => [id, r === 4 ? 3 : r + 1]));
    const path = `/calibration/cases/${caseId}/attempt`;
    for (const role of ['candidate', 'actor', 'moderator', 'coordinator'] as const) {
      expect((await callAs(studio, day.one(role), 'POST', path, { ratings: within, global: 5 })).status, role).toBe(403);
    }
    expect((await callAs(studio, day.one('observer'), 'POST', path, { ratings: within, global: 5 })).status).toBe(403);
    const { 'kss-9': _dropped, ...incomplete } = within;
    const missing = await callAs(studio, ana, 'POST', path, { ratings: incomplete, global: 5 });
    expect(missing.status).toBe(400);
    expect(errorOf(missing.body)).toMatch(/not rated: 9\. The role of supervision/);
    expect((await callAs(studio, ana, 'POST', path, { ratings: { ...within, 'kss-3': 2 }, global: 5 })).status).toBe(400);
    expect((await callAs(studio, ana, 'POST', path, { ratings: { ...within, 'kss-1': 5 }, global: 5 })).status).toBe(400);
    expect((await callAs(studio, ana, 'POST', path, { ratings: within, global: 8 })).status).toBe(400);

    const submitted = await callAs<CalibrationResult>(studio, ana, 'POST', path, { ratings: within, global: 5 });
    expect(submitted.status).toBe(201);
    expect(submitted.body).toMatchObject({ passed: true, global: 5, peers: 0, tolerance: 1 });
    for (const d of submitted.body.domains) {
      expect(d.reference).toBe(reference[d.itemId]);
      expect(d.fromReference).toBe(within[d.itemId]! - reference[d.itemId]!);
      expect(d.peerMean).toBeNull();
    }
    const again = await callAs(studio, ana, 'POST', path, { ratings: reference, global: 4 });
    expect(again.status).toBe(409);
    expect(errorOf(again.body)).toMatch(/already submitted/);
    expect(studio.db.prepare('SELECT count(*) AS n FROM calibration_attempts').get()).toEqual({ n: 1 });

    // Ben rates one domain two points off the reference: he does not pass; Ana is his peer.
    const off = { ...reference, 'kss-1': reference['kss-1']! <= 2 ? reference['kss-1']! + 2 : reference['kss-1']! - 2 };
    const benResult = await callAs<CalibrationResult>(studio, ben, 'POST', path, { ratings: off, global: 3 });
    expect(benResult.status).toBe(201);
    expect(benResult.body.passed).toBe(false);
    expect(benResult.body.peers).toBe(1);
    const kss1 = benResult.body.domains.find((d) => d.itemId === 'kss-1')!;
    expect(kss1).toMatchObject({ rating: off['kss-1'], reference: reference['kss-1'], peerMean: within['kss-1'], fromPeers: off['kss-1']! - within['kss-1']!, withinTolerance: false });
    expect(Math.abs(kss1.fromReference)).toBe(2);

    // Ana's result now has Ben as her peer.
    const anaView = await callAs<CalibrationCaseView>(studio, ana, 'GET', `/calibration/cases/${caseId}`);
    expect(anaView.body.status).toBe('submitted');
    expect(anaView.body.result?.peers).toBe(1);
    expect(anaView.body.result?.domains.find((d) => d.itemId === 'kss-1')?.peerMean).toBe(off['kss-1']);
    const audited = studio.db.prepare("SELECT actor_name, detail FROM audit_log WHERE action = 'calibration.submitted' ORDER BY id").all() as Array<{ actor_name: string; detail: string }>;
    expect(audited.map((a) => [a.actor_name, JSON.parse(a.detail).passed])).toEqual([
      ['Ana Lead', true],
      ['Ben Observer', false],
    ]);
    const coordinatorList = await callAs<CalibrationCaseSummary[]>(studio, day.one('coordinator'), 'GET', '/calibration/cases');
    expect(coordinatorList.body.find((c) => c.id === caseId)?.attempts).toBe(2);
  });

  it('gives stored attempts as rating rows for observer stringency', () => {
    const rows = calibrationRatings(studio.db);
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r.candidate))).toEqual(new Set([`calibration:${caseId}`]));
    expect(rows.filter((r) => r.rater === 'Ben Observer' && r.item === 'kss-2').map((r) => r.score)).toEqual([reference['kss-2']]);
  });
});

describe('the booking gate', () => {
  const booking = (lead: string, observers: string[]) => ({ ...demoBooking(), leadObserver: { displayName: lead }, observers: observers.map((displayName) => ({ displayName })) });

  it('books uncalibrated observers while calibration is not required', async () => {
    const res = await callAs(studio, day.one('coordinator'), 'POST', '/studio/sessions', booking('Newcomer One', ['Ben Observer']));
    expect(res.status).toBe(201);
  });

  it('with SIMSTUDIO_REQUIRE_CALIBRATION, refuses observers without a passed attempt, naming them', async () => {
    const dataDir = studio.dataDir;
    await studio.close();
    studio = await startTestStudio({ requireCalibration: true }, dataDir);
    const refused = await callAs(studio, day.one('coordinator'), 'POST', '/studio/sessions', booking('Newcomer One', ['Ben Observer', 'ana  LEAD']));
    expect(refused.status).toBe(409);
    expect(errorOf(refused.body)).toMatch(/calibration is required before observing live: Newcomer One \(lead observer\), Ben Observer \(observer\) have not passed/);
    const before = studio.sessions.listSessions().length;
    expect(before).toBeGreaterThan(0);
    const ok = await callAs(studio, day.one('coordinator'), 'POST', '/studio/sessions', booking('Ana Lead', []));
    expect(ok.status).toBe(201);
    expect(studio.sessions.listSessions().length).toBe(before + 1);
  });
});
