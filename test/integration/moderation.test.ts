// Moderation and results over HTTP against a real studio: the queue, changing marks with a
// rationale, sign-off and its lock (down to the database), independent review, the
// candidate's report (its PDF text), the employer summary, CSV export and retakes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, collabDocName, sheetDocName } from '../../shared/collab.ts';
import type { CandidateResult, ModerationView, QueueRow } from '../../shared/moderation.ts';
import { agreedKey, ratingKey } from '../../shared/rubric.ts';
import { DEMO_FEEDBACK, finishDemoDay } from '../../server/demo-finished.ts';
import { demoBooking } from '../../server/demo.ts';
import { RawCollabClient, collabUrl, mapUpdate, sync } from '../helpers/collab-client.ts';
import { callAs, finishedDemoDay, pdfTagged, pdfText, type FinishedDay } from '../helpers/moderation.ts';
import { signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { SYNC_UPDATE } from '../../shared/collab.ts';

let studio: TestStudio;
let day: FinishedDay;

beforeAll(async () => {
  studio = await startTestStudio();
  day = finishedDemoDay(studio, { candidate: { displayName: 'Sam Carter', candidateRef: 'REG-1001' }, employer: { name: '=Northshire Council', consent: true } });
});
afterAll(async () => {
  await studio.close();
});

const view = (who = day.one('moderator')) => callAs<ModerationView>(studio, who, 'GET', `/moderation/sessions/${day.sessionId}`);
const mark = (body: Record<string, unknown>, who = day.one('moderator')) => callAs<ModerationView & { error?: { message: string } }>(studio, who, 'POST', `/moderation/sessions/${day.sessionId}/marks`, body);
const rowOf = (v: ModerationView, part: number | string, itemId: string) => v.rows.find((r) => r.part === part && r.itemId === itemId)!;
const errorOf = (body: unknown): string => (body as { error: { message: string } }).error.message;

describe('moderation of a finished day', () => {
  it('queues the finished day as awaiting moderation, with provisional results and why it is sampled', async () => {
    const queue = await callAs<QueueRow[]>(studio, day.one('moderator'), 'GET', '/moderation/queue?status=awaiting');
    expect(queue.status).toBe(200);
    const row = queue.body.find((r) => r.sessionId === day.sessionId)!;
    expect(row.status).toBe('awaiting');
    expect(row.candidateRef).toBe('REG-1001');
    const observation = row.results.find((r) => r.element === 'observation')!;
    expect(observation).toMatchObject({ score: 2.75, outcome: 'pass', borderline: true });
    expect(row.results.find((r) => r.element === 'written')).toMatchObject({ outcome: null, missing: 3 });
    expect(row.sampled).toEqual({ selected: true, reason: 'marks incomplete' });
    const moderated = await callAs<QueueRow[]>(studio, day.one('moderator'), 'GET', '/moderation/queue?status=moderated');
    expect(moderated.body.some((r) => r.sessionId === day.sessionId)).toBe(false);
  });

  it('validates the queue filter and the sampling rule, and audits a rule change', async () => {
    const moderator = day.one('moderator');
    const badDate = await callAs(studio, moderator, 'GET', '/moderation/queue?from=23/11/2026');
    expect(badDate.status).toBe(400);
    expect(errorOf(badDate.body)).toMatch(/YYYY-MM-DD/);
    expect((await callAs(studio, moderator, 'GET', '/moderation/queue?status=done')).status).toBe(400);
    const badRule = await callAs(studio, moderator, 'PUT', '/moderation/sampling', { includeFails: true, includeBorderline: true, passPercent: 150 });
    expect(badRule.status).toBe(400);
    expect((await callAs(studio, moderator, 'GET', '/moderation/sampling')).body).toEqual({ includeFails: true, includeBorderline: true, passPercent: 10 });
    const saved = await callAs(studio, moderator, 'PUT', '/moderation/sampling', { includeFails: true, includeBorderline: true, passPercent: 25 });
    expect(saved.status).toBe(200);
    expect(studio.moderation.samplingRule(studio.sessions.organisationOf(day.sessionId)).passPercent).toBe(25);
    const entry = studio.db.prepare("SELECT detail FROM audit_log WHERE action = 'moderation.sampling_changed' ORDER BY id DESC LIMIT 1").get() as { detail: string };
    expect(JSON.parse(entry.detail)).toMatchObject({ old: { passPercent: 10 }, new: { passPercent: 25 } });
    expect((await callAs(studio, day.one('observer'), 'PUT', '/moderation/sampling', { includeFails: false, includeBorderline: false, passPercent: 0 })).status).toBe(403);
  });

  it('shows every observer rating, the agreed rating and the disagreement', async () => {
    const v = (await view()).body;
    const disputed = rowOf(v, 2, 'kss-1');
    expect(disputed.observers.map((o) => o.rating).sort()).toEqual([1, 3]);
    expect(disputed.agreed?.rating).toBe(2);
    expect(disputed.disagreement).toBe(true);
    expect(rowOf(v, 1, 'kss-1').disagreement).toBe(false);
    expect(v.notes.length).toBe(3);
    expect(v.written?.text).toContain('Case notes');
    expect(v.feedback.strengths).toBe(DEMO_FEEDBACK.strengths);
  });

  it('refuses marks from everyone but the moderator, and a change without a rationale; nothing is stored', async () => {
    for (const role of ['candidate', 'actor', 'observer', 'leadObserver', 'coordinator'] as const) {
      const res = await mark({ part: 2, itemId: 'kss-1', rating: 3, rationale: 'Because the evidence shows it.', expected: 2 }, day.one(role));
      expect(res.status, role).toBe(403);
    }
    for (const role of ['candidate', 'actor', 'observer'] as const) {
      expect((await view(day.one(role))).status, role).toBe(403);
    }
    const noReason = await mark({ part: 2, itemId: 'kss-1', rating: 3, rationale: '  ', expected: 2 });
    expect(noReason.status).toBe(400);
    expect(errorOf(noReason.body)).toMatch(/rationale is required/);
    const unknown = await mark({ part: 2, itemId: 'kss-10', rating: 3, rationale: 'Because the evidence shows it.', expected: 2 });
    expect(unknown.status).toBe(400);
    expect(studio.moderation.repo.marks(day.sessionId)).toEqual([]);
    expect(studio.moderation.rubricLock(day.sessionId)).toBe('none');
  });

  it('refuses sign-off while marks are missing, naming them', async () => {
    const res = await callAs(studio, day.one('moderator'), 'POST', `/moderation/sessions/${day.sessionId}/sign-off`, { outcome: { observation: 'pass' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatch(/3 marks are missing.*Written exercise — 1\. Case notes/);
    expect(studio.moderation.repo.result(day.sessionId)).toBeUndefined();
  });

  it('changes a mark with a rationale: stored, audited with old and new, and the observers’ rubric freezes', async () => {
    const res = await mark({ part: 2, itemId: 'kss-1', rating: 3, rationale: 'The recording shows sustained, warm engagement.', expected: 2 });
    expect(res.status).toBe(200);
    const row = rowOf(res.body, 2, 'kss-1');
    expect(row.final).toBe(3);
    expect(row.moderated).toMatchObject({ rating: 3, byName: 'Helen Price' });
    const entry = res.body.audit.find((e) => e.action === 'moderation.mark_changed')!;
    expect(entry.who).toContain('Helen Price');
    expect(entry.detail).toMatchObject({ part: 2, itemId: 'kss-1', old: 2, new: 3, rationale: 'The recording shows sustained, warm engagement.' });
    const stale = await mark({ part: 2, itemId: 'kss-1', rating: 1, rationale: 'A stale page tries to change it.', expected: 2 });
    expect(stale.status).toBe(409);

    // The observers' ratings are frozen: the lead observer can no longer change an agreed rating
    // (the server closes the connection), though the narrative may still be finished.
    const leadObserver = day.one('leadObserver');
    const leadUrl = collabUrl(studio.baseUrl, collabDocName(day.sessionId, 'rubric'), leadObserver.id);
    const lead = new RawCollabClient(leadUrl, { cookie: await signIn(studio, leadObserver) });
    await lead.synced;
    lead.ydoc.getMap('feedback').set('1|strengths', 'Finish the narrative after moderation began.');
    await expect.poll(() => lead.serverView.getMap('feedback').get('1|strengths')).toMatch(/Finish the narrative/);
    lead.ydoc.getMap('agreed').set(agreedKey(2, 'kss-1'), { rating: 4, rationale: 'Changed after moderation began.' });
    const closed = await lead.closed;
    expect(closed.code).toBe(CLOSE_CODES.Forbidden);
    expect(closed.reason).toMatch(/moderation has begun/);
    // And an observer's own sheet is closed to changes too.
    const observer = day.one('observer');
    const sheet = new RawCollabClient(collabUrl(studio.baseUrl, sheetDocName(day.sessionId, observer.id, 2), observer.id), { cookie: await signIn(studio, observer) });
    await sheet.synced;
    sheet.send(sync(SYNC_UPDATE, mapUpdate('ratings', ratingKey(observer.id, 2, 'kss-1'), 4)));
    expect((await sheet.closed).reason).toMatch(/moderation has begun/);
    const after = rowOf((await view()).body, 2, 'kss-1');
    expect(after.observers.find((o) => o.observerId === observer.id)?.rating).toBe(1);
    expect(after.agreed?.rating).toBe(2);
  });

  it('signs off once every mark is given and the outcome confirmed; then the result is locked, even in the database', async () => {
    for (const itemId of ['written-notes', 'written-risk', 'written-decisions']) {
      const res = await mark({ part: 'written', itemId, rating: 3, rationale: 'Clear, analytical and linked to risk.', expected: null });
      expect(res.status).toBe(200);
    }
    const stale = await callAs(studio, day.one('moderator'), 'POST', `/moderation/sessions/${day.sessionId}/sign-off`, { outcome: { observation: 'fail', written: 'pass' } });
    expect(stale.status).toBe(409);
    const res = await callAs<ModerationView>(studio, day.one('moderator'), 'POST', `/moderation/sessions/${day.sessionId}/sign-off`, { outcome: { observation: 'pass', written: 'pass' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('moderated');
    expect(res.body.signedOff?.outcome).toEqual({ observation: 'pass', written: 'pass' });
    expect(res.body.audit.map((e) => e.action)).toContain('moderation.signed_off');

    const after = await mark({ part: 1, itemId: 'kss-2', rating: 1, rationale: 'Trying to change a locked result.', expected: 3 });
    expect(after.status).toBe(409);
    expect(errorOf(after.body)).toMatch(/signed off and locked.*independent review/);
    expect(() => studio.db.prepare("UPDATE moderated_marks SET rating = 1 WHERE session_id = ?").run(day.sessionId)).toThrow(/signed off/);
    expect(() => studio.db.prepare('DELETE FROM audit_log WHERE session_id = ?').run(day.sessionId)).toThrow(/append-only/);
    expect(studio.moderation.rubricLock(day.sessionId)).toBe('all');
  });

  it('says a pass with ratings below the standard as it is, in a tagged PDF; written marks all at "meets" are a clear pass', async () => {
    const view = await callAs<ModerationView>(studio, day.one('moderator'), 'GET', `/moderation/sessions/${day.sessionId}`);
    // Every written mark is "Meets the standard" (3.00 against a pass mark of 2.75): not borderline.
    expect(view.body.results.find((r) => r.element === 'written')).toMatchObject({ score: 3, outcome: 'pass', borderline: false });
    const pdf = await callAs(studio, day.one('candidate'), 'GET', `/results/${day.sessionId}/report.pdf`);
    expect(pdf.status).toBe(200);
    const text = pdfText(pdf.raw).replace(/\s+/g, ' ');
    // The demo day agreed some domains at "Borderline": the report must not claim the standard was met everywhere.
    expect(text).toContain('Borderline');
    expect(text).not.toMatch(/met the standard in every/);
    expect(text).toContain('Some ratings were below “Meets the standard”');
    // Tagged: headings and paragraphs in a structure tree, the page footers left out as artifacts.
    expect(pdfTagged(pdf.raw)).toBe(true);
    const file = path.join(os.tmpdir(), `report-${day.sessionId}.pdf`);
    fs.writeFileSync(file, pdf.raw);
    try {
      const structure = execFileSync('pdfinfo', ['-struct-text', file]).toString();
      expect(structure).toMatch(/H1[^\n]*\n\s*"Feedback report"/);
      expect(structure).toMatch(/H2[^\n]*\n\s*"Your result"/);
      expect(structure).toMatch(/H2[^\n]*\n\s*"Feedback by domain — simulated observation"/);
      expect(structure).toContain(DEMO_FEEDBACK.strengths.slice(0, 40));
      expect(structure).not.toContain('confidential to the candidate');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('gives the candidate their own report — outcome and narrative, no observer notes or names — and nobody else’s', async () => {
    const mine = await callAs<CandidateResult>(studio, day.one('candidate'), 'GET', '/results/mine');
    expect(mine.body).toMatchObject({ status: 'available', outcome: { observation: 'pass', written: 'pass' } });
    const pdf = await callAs(studio, day.one('candidate'), 'GET', mine.body.reportPath!.replace(/^\/api/, '').replace(/\?.*$/, ''));
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    const text = pdfText(pdf.raw).replace(/\s+/g, ' ');
    expect(text).toContain('Feedback report');
    expect(text).toContain('Simulated observation: Passed');
    expect(text).toContain('Written exercise: Passed');
    expect(text).toContain(DEMO_FEEDBACK.strengths);
    expect(text).toContain(DEMO_FEEDBACK.development);
    expect(text).toContain('Relationships and effective direct work');
    for (const hidden of ['Priya Shah', 'Tom Ellis', 'Helen Price', 'asked open questions', 'Observers differed']) expect(text).not.toContain(hidden);

    for (const role of ['actor', 'observer', 'leadObserver'] as const) {
      expect((await callAs(studio, day.one(role), 'GET', `/results/${day.sessionId}/report.pdf`)).status, role).toBe(403);
    }
    const other = finishedDemoDay(studio);
    const foreign = await callAs(studio, other.one('candidate'), 'GET', `/results/${day.sessionId}/report.pdf`);
    expect(foreign.status).toBe(403);
    expect((await callAs(studio, other.one('candidate'), 'GET', `/results/${other.sessionId}/report.pdf`)).status).toBe(409);
  });

  it('gives the employer summary only where the candidate consented', async () => {
    const summary = await callAs(studio, day.one('coordinator'), 'GET', `/results/${day.sessionId}/employer-summary.pdf`);
    expect(summary.status).toBe(200);
    const text = pdfText(summary.raw).replace(/\s+/g, ' ');
    expect(text).toContain('=Northshire Council');
    expect(text).toContain(DEMO_FEEDBACK.development);
    expect(text).not.toContain(DEMO_FEEDBACK.strengths);
    const noConsent = finishedDemoDay(studio);
    const refused = await callAs(studio, noConsent.one('coordinator'), 'GET', `/results/${noConsent.sessionId}/employer-summary.pdf`);
    expect(refused.status).toBe(409); // not signed off yet
    expect(errorOf(refused.body)).toMatch(/not been signed off/);
  });

  it('exports results as CSV for coordinators only, with formula-like cells escaped', async () => {
    const csv = await callAs<string>(studio, day.one('coordinator'), 'GET', '/results.csv');
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toMatch(/^session_id,title,candidate_name,candidate_ref/);
    const line = lines.find((l) => l.startsWith(day.sessionId))!;
    expect(line).toContain('REG-1001');
    expect(line).toMatch(/,moderated,2\.81,2\.75,pass,3,2\.75,pass,yes,/);
    expect((await callAs(studio, day.one('moderator'), 'GET', '/results.csv')).status).toBe(403);
  });

  it('changes a signed-off result only through a recorded independent review', async () => {
    const path = `/moderation/sessions/${day.sessionId}/reviews`;
    // The reviewer is a moderator participant (here one invited to another session), never a typed name.
    const reviewer = studio.assessment.book({ ...demoBooking(), moderator: { displayName: 'Dr Ruth Okafor' } }).participants.find((p) => p.role === 'moderator')!;
    const typed = await callAs(studio, day.one('coordinator'), 'POST', path, { reviewerName: 'Dr Ruth Okafor', reviewerRole: 'Independent reviewer', reasons: 'The candidate disputes the written result.' });
    expect(typed.status).toBe(400);
    const notIndependent = await callAs(studio, day.one('coordinator'), 'POST', path, { reviewerParticipantId: day.one('moderator').id, reasons: 'The candidate disputes the written result.' });
    expect(notIndependent.status).toBe(400);
    expect(errorOf(notIndependent.body)).toMatch(/signed this result off/);
    const noReasons = await callAs(studio, day.one('coordinator'), 'POST', path, { reviewerParticipantId: reviewer.id, reasons: '' });
    expect(noReasons.status).toBe(400);
    const opened = await callAs<ModerationView>(studio, day.one('coordinator'), 'POST', path, {
      reviewerParticipantId: reviewer.id,
      reasons: 'The candidate disputes the simulated observation result for scenario 2.',
    });
    expect(opened.status).toBe(200);
    expect(opened.body.status).toBe('underReview');
    expect((await callAs<CandidateResult>(studio, day.one('candidate'), 'GET', '/results/mine')).body.status).toBe('underReview');
    expect((await callAs(studio, day.one('candidate'), 'GET', `/results/${day.sessionId}/report.pdf`)).status).toBe(409);

    const review = opened.body.reviews[0]!;
    const changed = await mark({ part: 2, itemId: 'kss-2', rating: 1, rationale: 'Review: the recording shows jargon throughout.', expected: 3 }, reviewer);
    expect(changed.status).toBe(200);
    expect(changed.body.audit.at(-1)?.detail).toMatchObject({ reviewId: review.id, old: 3, new: 1 });
    const partial = await callAs(studio, reviewer, 'POST', `${path}/${review.id}/decision`, { outcome: { observation: 'fail' }, reasons: 'Upheld in part after watching the recordings.' });
    expect(partial.status).toBe(400);
    const decided = await callAs<ModerationView>(studio, reviewer, 'POST', `${path}/${review.id}/decision`, {
      outcome: { observation: 'fail', written: 'pass' },
      reasons: 'Scenario 2 does not meet the standard on communication; the written result stands.',
    });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('moderated');
    expect(decided.body.signedOff?.outcome).toEqual({ observation: 'fail', written: 'pass' });
    expect(decided.body.audit.map((e) => e.action)).toEqual(expect.arrayContaining(['review.opened', 'review.decided']));
    const again = await callAs(studio, reviewer, 'POST', `${path}/${review.id}/decision`, { outcome: { observation: 'pass', written: 'pass' }, reasons: 'Trying to decide a second time.' });
    expect(again.status).toBe(409);
    expect(() => studio.db.prepare('UPDATE result_reviews SET reasons = ? WHERE id = ?').run('edited', review.id)).toThrow(/cannot be changed/);

    const text = pdfText((await callAs(studio, day.one('candidate'), 'GET', `/results/${day.sessionId}/report.pdf`)).raw).replace(/\s+/g, ' ');
    expect(text).toContain('Simulated observation: Not yet passed');
    expect(text).toMatch(/decided by an independent review/);
    expect(text).toMatch(/retake of the simulated observation only/);
  });

  it('books a retake of the failed element only, drawing scenarios the candidate has not sat; the other result carries over', async () => {
    const base = { candidate: { displayName: 'Sam Carter', candidateRef: 'REG-1001' } };
    expect(() => studio.assessment.book({ ...demoBooking(), ...base, actors: [], retake: { of: day.sessionId, element: 'written' } })).toThrow(/was not failed/);
    expect(() => studio.assessment.book({ ...demoBooking(), candidate: { displayName: 'Someone', candidateRef: 'REG-2' }, retake: { of: day.sessionId, element: 'observation' } })).toThrow(/candidate reference differs/);
    // Through the studio's booking route: refused with the reason, nothing booked; then booked.
    const sessionsBefore = studio.sessions.count();
    const refused = await callAs(studio, day.one('coordinator'), 'POST', '/studio/sessions', { ...demoBooking(), ...base, actors: [], retake: { of: day.sessionId, element: 'written' } });
    expect(refused.status).toBe(409);
    expect(errorOf(refused.body)).toMatch(/written exercise was not failed/);
    expect(studio.sessions.count()).toBe(sessionsBefore);
    const booked = await callAs<{ sessionId: string }>(studio, day.one('coordinator'), 'POST', '/studio/sessions', {
      ...demoBooking(),
      ...base,
      employer: { name: 'Northshire Council', consent: false },
      retake: { of: day.sessionId, element: 'observation' },
    });
    expect(booked.status).toBe(201);
    expect(studio.assessment.plans.plan(booked.body.sessionId)).toMatchObject({ employer: { name: 'Northshire Council', consent: false }, retake: { of: day.sessionId, element: 'observation' } });
    const again = await callAs(studio, day.one('coordinator'), 'POST', '/studio/sessions', { ...demoBooking(), ...base, retake: { of: day.sessionId, element: 'observation' } });
    expect(again.status).toBe(409);
    expect(errorOf(again.body)).toMatch(/already booked/);

    const participants = studio.sessions.listParticipants(booked.body.sessionId);
    finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, booked.body.sessionId, participants);
    const retake = { sessionId: booked.body.sessionId, one: (role: string) => participants.find((p) => p.role === role)! };
    const plan = studio.assessment.plans.plan(retake.sessionId)!;
    expect(studio.assessment.dayState(retake.sessionId)!.phases.some((p) => p.kind === 'writtenExercise')).toBe(false);
    expect(plan.retake).toEqual({ of: day.sessionId, element: 'observation' });
    const sat = new Set(studio.assessment.plans.slots(day.sessionId).map((s) => s.scenarioId));
    expect(studio.assessment.plans.slots(retake.sessionId).some((s) => sat.has(s.scenarioId))).toBe(false);
    const v = (await callAs<ModerationView>(studio, retake.one('moderator'), 'GET', `/moderation/sessions/${retake.sessionId}`)).body;
    expect(v.rows.some((r) => r.part === 'written')).toBe(false);
    expect(v.results.find((r) => r.element === 'written')).toMatchObject({ assessed: false, outcome: 'pass', carriedOver: { sessionId: day.sessionId, outcome: 'pass' } });

    // The retake is moderated and not passed: the standing result keeps the written pass, and a
    // further retake of the observation is allowed (here the starter bank has no third case family left).
    const moderator = retake.one('moderator');
    const lowered = await callAs<ModerationView>(studio, moderator, 'POST', `/moderation/sessions/${retake.sessionId}/marks`, {
      part: 1, itemId: 'kss-1', rating: 1, rationale: 'Retake: the relationship was not established.', expected: 3,
    });
    expect(lowered.body.results.find((r) => r.element === 'observation')).toMatchObject({ score: 2.63, outcome: 'fail' });
    const signed = await callAs<ModerationView>(studio, moderator, 'POST', `/moderation/sessions/${retake.sessionId}/sign-off`, { outcome: { observation: 'fail' } });
    expect(signed.status).toBe(200);
    expect(signed.body.signedOff?.outcome).toEqual({ observation: 'fail', written: 'pass' });
    expect((await callAs<CandidateResult>(studio, retake.one('candidate'), 'GET', '/results/mine')).body.outcome).toEqual({ observation: 'fail', written: 'pass' });
    const third = await callAs(studio, day.one('coordinator'), 'POST', '/studio/sessions', { ...demoBooking(), ...base, retake: { of: retake.sessionId, element: 'observation' } });
    expect(third.status).toBe(409);
    expect(errorOf(third.body)).toMatch(/no practitioner case family/);
  });
});
