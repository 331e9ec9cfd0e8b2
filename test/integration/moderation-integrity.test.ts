// A signed-off result cannot be overturned by one person (issue 11, row 8), against a real
// studio over HTTP: a review names a reviewer who is a real moderator participant — not the
// one who signed off, not an observer of the session, not the one who opens it — and only that
// reviewer, signed in as themselves, changes marks during the review and records its decision.
// Every moderation action's audit row carries the acting person. The database itself refuses
// changes to a signed-off result (checked through a second connection to the database), and the
// employer summary names no observer or assessor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModerationView } from '../../shared/moderation.ts';
import { DEFAULT_RESULT_RULES } from '../../shared/moderation.ts';
import type { Participant } from '../../shared/domain.ts';
import { callAs, finishedDemoDay, pdfText, type FinishedDay } from '../helpers/moderation.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import type { Database } from '../../server/db/engine.ts';

let studio: TestStudio;
/** The day under test: observers Priya Shah (lead) and Tom Ellis, moderator Helen Price, coordinator Jo Bennett. */
let day: FinishedDay;
/** Another session's people: its moderator is the independent reviewer, its coordinator the row-8 attacker. */
let elsewhere: FinishedDay;
let reviewer: Participant;
let foreignCoordinator: Participant;
/** A moderator invite held by someone with the same name as this day's observer (one person, two invites). */
let observerAsModerator: Participant;
/** A second moderator invite in the signer-off's name. */
let signerElsewhere: Participant;
let sqlite: Database;

const reviewsPath = () => `/moderation/sessions/${day.sessionId}/reviews`;
const errorOf = (body: unknown): string => (body as { error: { message: string } }).error.message;
const REASONS = 'The candidate disputes the simulated observation result for scenario 2.';

interface StoredResult {
  status: string;
  outcome: string | null;
}
const storedResult = (sessionId: string) =>
  sqlite.prepare('SELECT status, outcome FROM moderation_results WHERE session_id = ?').get(sessionId) as unknown as StoredResult;
const reviewCount = (sessionId: string) => (sqlite.prepare('SELECT COUNT(*) AS n FROM result_reviews WHERE session_id = ?').get(sessionId) as { n: number }).n;

async function markAndSignOff(d: FinishedDay, written = 3): Promise<void> {
  const moderator = d.one('moderator');
  for (const itemId of ['written-notes', 'written-risk', 'written-decisions']) {
    const res = await callAs(studio, moderator, 'POST', `/moderation/sessions/${d.sessionId}/marks`, { part: 'written', itemId, rating: written, rationale: 'Clear, analytical and linked to risk.', expected: null });
    expect(res.status).toBe(200);
  }
  const outcome = { observation: 'pass', written: written >= 3 ? 'pass' : 'fail' };
  const signed = await callAs(studio, moderator, 'POST', `/moderation/sessions/${d.sessionId}/sign-off`, { outcome });
  expect(signed.status).toBe(200);
}

beforeAll(async () => {
  studio = await startTestStudio();
  // Templates may name assessors on the candidate's report; the employer's summary never does.
  const practitioner = studio.templates.latest('practitioner')!;
  const { version: _version, ...rest } = practitioner;
  studio.templates.saveNewVersion({ ...rest, results: { ...DEFAULT_RESULT_RULES, reportNamesAssessors: true } });
  day = finishedDemoDay(studio, { candidate: { displayName: 'Sam Carter', candidateRef: 'REG-2002' }, employer: { name: 'Northshire Council', consent: true } });
  elsewhere = finishedDemoDay(studio, { moderator: { displayName: 'Dr Ruth Okafor' }, coordinator: { displayName: 'Max Rowe' } });
  reviewer = elsewhere.one('moderator');
  foreignCoordinator = elsewhere.one('coordinator');
  observerAsModerator = finishedDemoDay(studio, { moderator: { displayName: ' tom ellis ' } }).one('moderator');
  signerElsewhere = finishedDemoDay(studio).one('moderator');
  await markAndSignOff(day);
  sqlite = connectToStudioDatabase(studio.dataDir);
});
afterAll(async () => {
  sqlite?.close();
  await studio?.close();
});

describe('independent review of a signed-off result', () => {
  it('row 8: a coordinator of another session cannot overturn the result with a typed reviewer name; nothing changes', async () => {
    const before = storedResult(day.sessionId);
    expect(before.status).toBe('signedOff');
    const typed = await callAs<ModerationView>(studio, foreignCoordinator, 'POST', reviewsPath(), {
      reviewerName: 'Dr Ruth Okafor',
      reviewerRole: 'Independent reviewer',
      reasons: REASONS,
    });
    expect(typed.status).toBe(400);
    // Naming themselves (a coordinator, not a moderator) is refused too.
    const self = await callAs(studio, foreignCoordinator, 'POST', reviewsPath(), { reviewerParticipantId: foreignCoordinator.id, reasons: REASONS });
    expect(self.status).toBe(400);
    expect(errorOf(self.body)).toMatch(/moderator/);
    expect(storedResult(day.sessionId)).toEqual(before);
    expect(reviewCount(day.sessionId)).toBe(0);
  });

  it('refuses the moderator who signed off as reviewer — by record and by name', async () => {
    const signer = day.one('moderator');
    for (const [who, name] of [
      [day.one('coordinator'), signer.id],
      [signer, signer.id],
      [day.one('coordinator'), signerElsewhere.id],
    ] as const) {
      const res = await callAs(studio, who, 'POST', reviewsPath(), { reviewerParticipantId: name, reasons: REASONS });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toMatch(/signed this result off/);
    }
    expect(reviewCount(day.sessionId)).toBe(0);
  });

  it('refuses an observer of the session (lead included) as reviewer, also holding a moderator invite elsewhere', async () => {
    for (const candidateReviewer of [day.one('observer'), day.one('leadObserver')]) {
      const res = await callAs(studio, day.one('coordinator'), 'POST', reviewsPath(), { reviewerParticipantId: candidateReviewer.id, reasons: REASONS });
      expect(res.status).toBe(400);
    }
    const same = await callAs(studio, day.one('coordinator'), 'POST', reviewsPath(), { reviewerParticipantId: observerAsModerator.id, reasons: REASONS });
    expect(same.status).toBe(400);
    expect(errorOf(same.body)).toMatch(/observed this session/);
    // An observer cannot open one either.
    expect((await callAs(studio, day.one('observer'), 'POST', reviewsPath(), { reviewerParticipantId: reviewer.id, reasons: REASONS })).status).toBe(403);
    expect(reviewCount(day.sessionId)).toBe(0);
  });

  it('refuses a reviewer who would open their own review (two people are needed to overturn a result)', async () => {
    const res = await callAs(studio, reviewer, 'POST', reviewsPath(), { reviewerParticipantId: reviewer.id, reasons: REASONS });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatch(/opens a review cannot also decide/);
    expect(reviewCount(day.sessionId)).toBe(0);
  });

  it('lists only eligible reviewers on the signed-off result', async () => {
    const v = (await callAs<ModerationView>(studio, day.one('coordinator'), 'GET', `/moderation/sessions/${day.sessionId}`)).body;
    const ids = v.eligibleReviewers.map((r) => r.participantId);
    expect(ids).toContain(reviewer.id);
    for (const p of [day.one('moderator'), signerElsewhere, observerAsModerator, day.one('observer'), day.one('leadObserver')]) expect(ids).not.toContain(p.id);
    // The reviewer does not see themselves as a choice (they cannot open their own review).
    const theirs = (await callAs<ModerationView>(studio, reviewer, 'GET', `/moderation/sessions/${day.sessionId}`)).body;
    expect(theirs.eligibleReviewers.map((r) => r.participantId)).not.toContain(reviewer.id);
  });

  it('only the named reviewer, signed in as themselves, changes marks during the review and decides it', async () => {
    const before = storedResult(day.sessionId);
    // A coordinator of another session may open it (coordinators work across sessions) but not decide it.
    const opened = await callAs<ModerationView>(studio, foreignCoordinator, 'POST', reviewsPath(), { reviewerParticipantId: reviewer.id, reasons: REASONS });
    expect(opened.status).toBe(200);
    expect(opened.body.status).toBe('underReview');
    const review = opened.body.reviews.at(-1)!;
    expect(review).toMatchObject({ reviewer: { participantId: reviewer.id, name: 'Dr Ruth Okafor', role: 'moderator' }, openedBy: { participantId: foreignCoordinator.id, name: 'Max Rowe', role: 'coordinator' } });
    const decisionPath = `${reviewsPath()}/${review.id}/decision`;
    const overturn = { outcome: { observation: 'fail', written: 'pass' }, reasons: 'Scenario 2 does not meet the standard on communication.' };

    // The signer-off cannot change marks while the review is open, nor decide it.
    const signerMark = await callAs(studio, day.one('moderator'), 'POST', `/moderation/sessions/${day.sessionId}/marks`, { part: 2, itemId: 'kss-2', rating: 1, rationale: 'Changing my own result during its review.', expected: 3 });
    expect(signerMark.status).toBe(403);
    expect(errorOf(signerMark.body)).toMatch(/only its reviewer/);
    for (const who of [foreignCoordinator, day.one('coordinator'), day.one('moderator'), day.one('observer'), signerElsewhere]) {
      const res = await callAs(studio, who, 'POST', decisionPath, overturn);
      expect(res.status, who.displayName).toBe(403);
    }
    expect(storedResult(day.sessionId).outcome).toBe(before.outcome);
    expect(sqlite.prepare('SELECT decided_at FROM result_reviews WHERE id = ?').get(review.id)).toEqual({ decided_at: null });

    const reviewerMark = await callAs<ModerationView>(studio, reviewer, 'POST', `/moderation/sessions/${day.sessionId}/marks`, { part: 2, itemId: 'kss-2', rating: 1, rationale: 'Review: the recording shows jargon throughout.', expected: 3 });
    expect(reviewerMark.status).toBe(200);
    const decided = await callAs<ModerationView>(studio, reviewer, 'POST', decisionPath, overturn);
    expect(decided.status).toBe(200);
    expect(decided.body.signedOff?.outcome).toEqual({ observation: 'fail', written: 'pass' });
    expect(JSON.parse(storedResult(day.sessionId).outcome!)).toEqual({ observation: 'fail', written: 'pass' });
    expect(decided.body.reviews.at(-1)?.decision).toMatchObject({ byName: 'Dr Ruth Okafor' });
  });

  it('records the acting person on every moderation action’s audit row — never "system"', async () => {
    const coordinator = day.one('coordinator');
    const moderator = day.one('moderator');
    expect((await callAs(studio, moderator, 'PUT', '/moderation/sampling', { includeFails: true, includeBorderline: true, passPercent: 20 })).status).toBe(200);
    expect((await callAs(studio, day.one('candidate'), 'GET', `/results/${day.sessionId}/report.pdf`)).status).toBe(200);
    expect((await callAs(studio, coordinator, 'GET', `/results/${day.sessionId}/employer-summary.pdf`)).status).toBe(200);
    expect((await callAs(studio, coordinator, 'GET', '/results.csv')).status).toBe(200);

    const rows = sqlite
      .prepare(
        `SELECT action, session_id, actor_participant_id, actor_name, actor_role FROM audit_log
         WHERE action LIKE 'moderation.%' OR action LIKE 'review.%' OR action LIKE 'report.%' ORDER BY id`,
      )
      .all() as Array<{ action: string; session_id: string | null; actor_participant_id: string | null; actor_name: string | null; actor_role: string | null }>;
    const actorOf = (action: string, sessionId: string | null = day.sessionId) => {
      const row = rows.filter((r) => r.action === action && (sessionId === null || r.session_id === sessionId)).at(-1);
      expect(row, action).toBeDefined();
      return { id: row!.actor_participant_id, name: row!.actor_name, role: row!.actor_role };
    };
    const person = (p: Participant) => ({ id: p.id, name: p.displayName, role: p.role });
    expect(actorOf('moderation.started')).toEqual(person(moderator));
    expect(actorOf('moderation.signed_off')).toEqual(person(moderator));
    expect(actorOf('moderation.mark_changed')).toEqual(person(reviewer));
    const markers = rows.filter((r) => r.action === 'moderation.mark_changed' && r.session_id === day.sessionId).map((r) => r.actor_name);
    expect(new Set(markers)).toEqual(new Set([moderator.displayName, reviewer.displayName]));
    expect(actorOf('review.opened')).toEqual(person(foreignCoordinator));
    expect(actorOf('review.decided')).toEqual(person(reviewer));
    expect(actorOf('moderation.sampling_changed', null)).toEqual(person(moderator));
    expect(actorOf('report.report_downloaded')).toEqual(person(day.one('candidate')));
    expect(actorOf('report.employer-summary_downloaded')).toEqual(person(coordinator));
    expect(actorOf('report.results_exported', null)).toEqual(person(coordinator));
    for (const row of rows) expect(row.actor_participant_id, row.action).not.toBeNull();

    // The page's audit log names them too, including people from other sessions.
    const audit = (await callAs<ModerationView>(studio, moderator, 'GET', `/moderation/sessions/${day.sessionId}`)).body.audit;
    expect(audit.find((e) => e.action === 'review.decided')).toMatchObject({ who: 'Dr Ruth Okafor (moderator)', actor: { participantId: reviewer.id } });
    expect(audit.find((e) => e.action === 'review.opened')?.who).toBe('Max Rowe (coordinator)');
    expect(audit.map((e) => e.who)).not.toContain('system');
  });
});

describe('the database refuses changes to a signed-off result', () => {
  let locked: FinishedDay;
  beforeAll(async () => {
    locked = finishedDemoDay(studio, { candidate: { displayName: 'Lee Park', candidateRef: 'REG-3003' } });
    await markAndSignOff(locked, 2);
  });

  it('refuses INSERT and DELETE of its marks, UPDATE and DELETE of its outcome, and reviews that are not independent', () => {
    const id = locked.sessionId;
    const before = storedResult(id);
    const marksBefore = sqlite.prepare('SELECT * FROM moderated_marks WHERE session_id = ? ORDER BY part, item_id').all(id);
    expect(before.status).toBe('signedOff');
    const moderator = locked.one('moderator').id;
    const refused: Array<[string, () => unknown, RegExp]> = [
      ['insert a mark', () => sqlite.prepare('INSERT INTO moderated_marks (session_id, part, item_id, rating, rationale, by_participant_id, at) VALUES (?, ?, ?, 4, ?, ?, ?)').run(id, '1', 'kss-1', 'forged', moderator, new Date().toISOString()), /signed off/],
      ['delete a mark', () => sqlite.prepare('DELETE FROM moderated_marks WHERE session_id = ?').run(id), /never deleted/],
      ['update a mark', () => sqlite.prepare('UPDATE moderated_marks SET rating = 4 WHERE session_id = ?').run(id), /signed off/],
      ['update the outcome', () => sqlite.prepare('UPDATE moderation_results SET outcome = ? WHERE session_id = ?').run('{"observation":"pass","written":"pass"}', id), /signed off/],
      ['update who signed off', () => sqlite.prepare('UPDATE moderation_results SET signed_off_by = ? WHERE session_id = ?').run(reviewer.id, id), /signed off/],
      ['reopen moderation', () => sqlite.prepare("UPDATE moderation_results SET status = 'moderating' WHERE session_id = ?").run(id), /signed off/],
      ['put under review without a review', () => sqlite.prepare("UPDATE moderation_results SET status = 'underReview' WHERE session_id = ?").run(id), /independent review/],
      ['delete the result', () => sqlite.prepare('DELETE FROM moderation_results WHERE session_id = ?').run(id), /cannot be deleted/],
      ['a review by the signer-off', () => sqlite.prepare('INSERT INTO result_reviews (id, session_id, reviewer_name, reviewer_role, reasons, opened_by, opened_at, reviewer_participant_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(crypto.randomUUID(), id, 'Helen Price', 'moderator', REASONS, locked.one('coordinator').id, new Date().toISOString(), moderator), /independent/],
      ['a review without a named reviewer', () => sqlite.prepare('INSERT INTO result_reviews (id, session_id, reviewer_name, reviewer_role, reasons, opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(crypto.randomUUID(), id, 'Dr Ruth Okafor', 'Independent reviewer', REASONS, locked.one('coordinator').id, new Date().toISOString()), /independent/],
      ['a review by an observer', () => sqlite.prepare('INSERT INTO result_reviews (id, session_id, reviewer_name, reviewer_role, reasons, opened_by, opened_at, reviewer_participant_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(crypto.randomUUID(), id, 'Tom Ellis', 'observer', REASONS, locked.one('coordinator').id, new Date().toISOString(), locked.one('observer').id), /independent/],
    ];
    for (const [what, attempt, message] of refused) expect(attempt, what).toThrow(message);
    expect(storedResult(id)).toEqual(before);
    expect(sqlite.prepare('SELECT * FROM moderated_marks WHERE session_id = ? ORDER BY part, item_id').all(id)).toEqual(marksBefore);
    expect(reviewCount(id)).toBe(0);
  });

  it('lets a review be decided only by its named reviewer, with the outcome the review decided', async () => {
    const id = locked.sessionId;
    const opened = await callAs<ModerationView>(studio, locked.one('coordinator'), 'POST', `/moderation/sessions/${id}/reviews`, { reviewerParticipantId: reviewer.id, reasons: REASONS });
    expect(opened.status).toBe(200);
    const reviewId = opened.body.reviews.at(-1)!.id;
    const decision = '{"observation":"pass","written":"pass"}';
    expect(() => sqlite.prepare('UPDATE result_reviews SET decision = ?, decision_reasons = ?, decided_by = ?, decided_at = ? WHERE id = ?').run(decision, 'forged decision', locked.one('moderator').id, new Date().toISOString(), reviewId)).toThrow(/named reviewer/);
    expect(() => sqlite.prepare('UPDATE result_reviews SET reviewer_participant_id = ? WHERE id = ?').run(locked.one('moderator').id, reviewId)).toThrow(/named reviewer/);
    expect(() => sqlite.prepare("UPDATE moderation_results SET status = 'signedOff', outcome = ? WHERE session_id = ?").run(decision, id)).toThrow(/reviewer/);
    expect(() => sqlite.prepare('INSERT INTO moderated_marks (session_id, part, item_id, rating, rationale, by_participant_id, at) VALUES (?, ?, ?, 4, ?, ?, ?) ON CONFLICT (session_id, part, item_id) DO UPDATE SET rating = 4').run(id, 'written', 'written-risk', 'forged', locked.one('moderator').id, new Date().toISOString())).toThrow(/only its reviewer/);
    expect(storedResult(id).status).toBe('underReview');
    expect(JSON.parse(storedResult(id).outcome!)).toEqual({ observation: 'pass', written: 'fail' });
  });
});

describe('the employer summary', () => {
  it('names no observer, moderator, reviewer or coordinator, even where the template names assessors on the report', async () => {
    expect(studio.assessment.plans.plan(day.sessionId)?.template.results?.reportNamesAssessors).toBe(true);
    const report = pdfText((await callAs(studio, day.one('candidate'), 'GET', `/results/${day.sessionId}/report.pdf`)).raw).replace(/\s+/g, ' ');
    expect(report).toContain('Priya Shah'); // the template names assessors on the candidate's report
    const res = await callAs(studio, day.one('coordinator'), 'GET', `/results/${day.sessionId}/employer-summary.pdf`);
    expect(res.status).toBe(200);
    const text = pdfText(res.raw).replace(/\s+/g, ' ');
    expect(text).toContain('Northshire Council');
    expect(text).toContain('Sam Carter');
    for (const name of ['Priya Shah', 'Tom Ellis', 'Helen Price', 'Dr Ruth Okafor', 'Jo Bennett', 'Max Rowe', 'Alex Morgan']) expect(text).not.toContain(name);
  });
});
