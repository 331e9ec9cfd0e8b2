// Retention, legal holds, erasure and the audit chain (issue 15 items 6, 7): a retention run
// deletes each class past its organisation's period but nothing of a held session (a result
// review open on it, or a hold set by hand), and audits what it removed; erasing a candidate of
// a finished, moderated day leaves no trace of their name, email or candidate reference in any
// table, keeps their signed-off result with the stated reason, and the audit chain verifies
// afterwards, and stops verifying after a raw change to the log. Only the organisation's
// administrator erases and holds; another organisation's ids answer 404.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CLOSE_CODES, collabDocName, sheetsPrefix } from '../../shared/collab.ts';
import { feedbackKey, type EvidenceNote } from '../../shared/rubric.ts';
import type { ErasureReport, LegalHold, RetentionReport } from '../../shared/data-protection.ts';
import type { ModerationView } from '../../shared/moderation.ts';
import { STAFF_COOKIE, type Person } from '../../shared/people.ts';
import type { Participant } from '../../shared/domain.ts';
import { demoBooking } from '../../server/demo.ts';
import { finishDemoDay } from '../../server/demo-finished.ts';
import { verifyAuditChain } from '../../server/data-protection/audit-chain.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { signOffDemoDay, storedRecording } from '../helpers/calibration.ts';
import { callAs, type FinishedDay } from '../helpers/moderation.ts';
import { collabUrl, RawCollabClient } from '../helpers/collab-client.ts';
import { signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { tableNames } from '../../server/db/engine.ts';
import { dropTrigger } from '../helpers/postgres.ts';

let studio: TestStudio;
let orgA: string;
let orgB: string;
let adminA: { person: Person; secret: string };
let coordinatorA: { person: Person; secret: string };
let adminB: { person: Person; secret: string };
let recordingN = 0;

const DAY = 86_400_000;

function staff(organisationId: string, name: string, email: string, roles: Person['roles']): { person: Person; secret: string } {
  const person = studio.people.create(organisationId, { displayName: name, email, roles });
  return { person, secret: studio.staffSessions.create(person.id, 'magic-link', 'vitest').secret };
}

async function asStaff<T = unknown>(who: { secret: string }, method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${studio.baseUrl}/api${url}`, {
    method,
    headers: { cookie: `${STAFF_COOKIE}=${who.secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function finishedDay(organisationId: string, overrides: Partial<ReturnType<typeof demoBooking>> = {}): Promise<FinishedDay> {
  const { sessionId, participants } = studio.assessment.book({ ...demoBooking(), ...overrides }, Math.random, organisationId);
  finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, sessionId, participants);
  const one = (role: Participant['role']): Participant => participants.find((p) => p.role === role)!;
  return { sessionId, participants, one };
}

function recordingOf(day: FinishedDay): { id: string; file: string } {
  recordingN += 1;
  const { id } = storedRecording(studio, day.sessionId, day.one('candidate').id, 1, recordingN, Buffer.from(`recording ${recordingN}`));
  return { id, file: studio.recordings.get(id)!.file };
}

const rubricDocs = (sessionId: string): number =>
  (studio.db.prepare("SELECT COUNT(*) AS n FROM collab_updates WHERE doc LIKE ? AND doc NOT LIKE '%/written'").get(`session/${sessionId}/%`) as { n: number }).n;
const frozenText = (sessionId: string): unknown => studio.db.prepare('SELECT text FROM written_snapshots WHERE session_id = ?').get(sessionId);

beforeAll(async () => {
  studio = await startTestStudio();
  orgA = studio.people.createOrganisation('Rowan Trust').id;
  orgB = studio.people.createOrganisation('Larch Council').id;
  adminA = staff(orgA, 'Ros Rowan-Admin', 'ros@rowan.example', ['administrator']);
  coordinatorA = staff(orgA, 'Cal Rowan-Coordinator', 'cal@rowan.example', ['coordinator']);
  adminB = staff(orgB, 'Lia Larch-Admin', 'lia@larch.example', ['administrator']);
  // B's day is the oldest in the log (its rows are the first retention may remove).
  await finishedDay(orgB, { title: 'Larch day' });
}, 60_000);

afterAll(async () => {
  await studio?.close();
});

describe('retention', () => {
  let reviewed: FinishedDay;
  let heldByHand: FinishedDay;
  let free: FinishedDay;
  let recordings: Record<string, { id: string; file: string }>;
  let hold: LegalHold;
  let reviewer: Participant;

  beforeAll(async () => {
    reviewed = await finishedDay(orgA, { title: 'Rowan reviewed day' });
    heldByHand = await finishedDay(orgA, { title: 'Rowan held day' });
    free = await finishedDay(orgA, { title: 'Rowan free day' });
    for (const day of [reviewed, heldByHand, free]) await signOffDemoDay(studio, day);
    recordings = { reviewed: recordingOf(reviewed), heldByHand: recordingOf(heldByHand), free: recordingOf(free) };
    // A result review open on the first day: its reviewer is a moderator of another day.
    const template = studio.templates.saveNewVersion(shortTemplate(3));
    const other = studio.assessment.book(booking(template.id, { title: 'Rowan other day' }), Math.random, orgA);
    reviewer = other.participants.find((p) => p.role === 'moderator')!;
    const opened = await callAs(studio, reviewed.one('coordinator'), 'POST', `/moderation/sessions/${reviewed.sessionId}/reviews`, {
      reviewerParticipantId: reviewer.id,
      reasons: 'The candidate appealed the outcome of scenario one.',
    });
    expect(opened.status).toBe(200);
    // Old equalities answers and an old email, in A and in B.
    for (const org of [orgA, orgB]) {
      studio.db.prepare("INSERT INTO equalities_answers (organisation_id, candidate_ref, declined, answered_at) VALUES (?, ?, 1, '2001-01-01T00:00:00.000Z')").run(org, `old-${org}`);
      studio.db
        .prepare("INSERT INTO mail_outbox (organisation_id, to_address, subject, text_body, kind, status, created_at, sent_at) VALUES (?, 'old@x.example', 'Old', 'Old mail', 'test', 'sent', '2001-01-01T00:00:00.000Z', '2001-01-01T00:00:01.000Z')")
        .run(org);
    }
  }, 120_000);

  it('the coordinator sets the organisation’s periods; the administrator holds a session by hand, with a reason', async () => {
    const periods = await asStaff<{ periods: Record<string, number> }>(coordinatorA, 'PUT', '/org/data-protection/retention', {
      recordings: 30,
      writtenWork: 40,
      marksAndResults: 50,
      audit: 60,
      equalities: 70,
      emailLog: 80,
    });
    expect(periods.status).toBe(200);
    expect(periods.body.periods).toEqual({ recordings: 30, writtenWork: 40, marksAndResults: 50, audit: 60, equalities: 70, emailLog: 80 });
    expect((await asStaff(coordinatorA, 'PUT', '/org/data-protection/retention', { recordings: 0 })).status).toBe(400);
    // B's periods are its own (the defaults).
    const bPeriods = await asStaff<{ periods: Record<string, number> }>(adminB, 'GET', '/org/data-protection/retention');
    expect(bPeriods.body.periods.writtenWork).toBe(studio.config.retention.writtenWork);

    expect((await asStaff(coordinatorA, 'POST', '/org/data-protection/holds', { sessionId: heldByHand.sessionId, reason: 'Employment tribunal claim' })).status).toBe(403);
    expect((await asStaff(adminA, 'POST', '/org/data-protection/holds', { sessionId: heldByHand.sessionId })).status).toBe(400);
    const set = await asStaff<LegalHold>(adminA, 'POST', '/org/data-protection/holds', { sessionId: heldByHand.sessionId, reason: 'Employment tribunal claim' });
    expect(set.status).toBe(201);
    hold = set.body;
    const holds = await asStaff<LegalHold[]>(coordinatorA, 'GET', '/org/data-protection/holds');
    expect(holds.body.map((h) => [h.sessionId, h.kind]).sort()).toEqual(
      [
        [heldByHand.sessionId, 'manual'],
        [reviewed.sessionId, 'review'],
      ].sort(),
    );
    expect(studio.audit.list(heldByHand.sessionId).find((e) => e.action === 'legal_hold.set')?.detail).toMatchObject({ reason: 'Employment tribunal claim' });
  });

  it('a dry run reports what would go and changes nothing', async () => {
    const dry = await asStaff<RetentionReport>(adminA, 'POST', '/org/data-protection/retention/run', { dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    // Today nothing of these days is 30 days old except the stored recordings (their segments ended in 1970).
    expect(dry.body.classes.recordings.sessionIds).toEqual([free.sessionId]);
    expect(dry.body.classes.equalities.removed).toBe(1);
    expect(fs.existsSync(recordings.free!.file)).toBe(true);
    expect(studio.db.prepare('SELECT COUNT(*) AS n FROM equalities_answers WHERE organisation_id = ?').get(orgA)).toEqual({ n: 1 });
  });

  it('a run deletes every class past its period, keeps everything of held sessions (an open review included), and is audited', () => {
    const report = studio.dataProtection.runRetention({ organisationId: orgA, trigger: 'test', now: Date.now() + 100 * DAY });
    // Recordings: the free day's deleted, file and all; the held days' kept.
    expect(fs.existsSync(recordings.free!.file)).toBe(false);
    expect(studio.recordings.get(recordings.free!.id)?.status).toBe('deleted');
    expect(fs.existsSync(recordings.reviewed!.file)).toBe(true);
    expect(fs.existsSync(recordings.heldByHand!.file)).toBe(true);
    expect(studio.recordings.get(recordings.reviewed!.id)?.status).toBe('complete');
    // Written work and scoring documents: gone for the free day only.
    expect(frozenText(free.sessionId)).toBeUndefined();
    expect(studio.db.prepare('SELECT session_id FROM written_removed').all()).toEqual([{ session_id: free.sessionId }]);
    expect(frozenText(reviewed.sessionId)).toBeDefined();
    expect(frozenText(heldByHand.sessionId)).toBeDefined();
    expect(rubricDocs(free.sessionId)).toBe(0);
    expect(rubricDocs(reviewed.sessionId)).toBeGreaterThan(0);
    // The free day's result record stays (the moderated outcome).
    expect(studio.db.prepare('SELECT status FROM moderation_results WHERE session_id = ?').get(free.sessionId)).toEqual({ status: 'signedOff' });
    // Equalities and mail: A's old rows gone, B's untouched (B was not run).
    expect(studio.db.prepare('SELECT organisation_id FROM equalities_answers ORDER BY organisation_id').all().map((r) => (r as { organisation_id: string }).organisation_id)).toEqual([orgB]);
    expect((studio.db.prepare("SELECT COUNT(*) AS n FROM mail_outbox WHERE to_address = 'old@x.example'").get() as { n: number }).n).toBe(1);
    // Audit: A's rows lost their personal fields, except those of held sessions.
    const stripped = studio.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE session_id = ? AND personal_salt IS NULL").get(free.sessionId) as { n: number };
    expect(stripped.n).toBeGreaterThan(0);
    expect(studio.db.prepare('SELECT COUNT(*) AS n FROM audit_log WHERE session_id = ? AND personal_salt IS NULL').get(reviewed.sessionId)).toEqual({ n: 0 });

    expect(report.classes.recordings).toMatchObject({ removed: 1, sessionIds: [free.sessionId] });
    expect(report.classes.writtenWork.sessionIds).toEqual([free.sessionId]);
    expect(report.classes.marksAndResults.sessionIds).toEqual([free.sessionId]);
    expect(report.classes.equalities.removed).toBe(1);
    expect(report.classes.emailLog.removed).toBe(1);
    expect(report.heldSessionIds.sort()).toEqual([reviewed.sessionId, heldByHand.sessionId].sort());
    const audited = studio.audit.listForOrganisation(orgA, { action: 'retention.run' })[0]!;
    expect(audited).toMatchObject({ name: 'job:retention', role: 'job' });
    expect(audited.detail).toMatchObject({ trigger: 'test', classes: { recordings: { removed: 1, sessionIds: [free.sessionId] } } });
    expect(verifyAuditChain(studio.db)).toMatchObject({ ok: true });
  });

  it('a released hold lets the next run delete; the open review still holds its session', async () => {
    expect((await asStaff(coordinatorA, 'POST', `/org/data-protection/holds/${hold.id}/release`, { reason: 'Claim withdrawn' })).status).toBe(403);
    expect((await asStaff(adminA, 'POST', `/org/data-protection/holds/${hold.id}/release`, { reason: 'Claim withdrawn' })).status).toBe(200);
    expect((await asStaff(adminA, 'POST', `/org/data-protection/holds/${hold.id}/release`, { reason: 'Again' })).status).toBe(409);
    const report = studio.dataProtection.runRetention({ organisationId: orgA, trigger: 'test', now: Date.now() + 100 * DAY });
    expect(report.classes.recordings.sessionIds).toEqual([heldByHand.sessionId]);
    expect(fs.existsSync(recordings.heldByHand!.file)).toBe(false);
    expect(frozenText(heldByHand.sessionId)).toBeUndefined();
    expect(fs.existsSync(recordings.reviewed!.file)).toBe(true);
    expect(frozenText(reviewed.sessionId)).toBeDefined();
    expect(report.heldSessionIds).toEqual([reviewed.sessionId]);
  });

  it('the reviewer of an open review cannot be erased: the review holds the session that names them', async () => {
    const refused = await asStaff<{ error: { message: string } }>(adminA, 'POST', `/org/people/${reviewer.personId!}/erase`, { reason: 'Left the organisation' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(reviewed.sessionId);
    expect(studio.db.prepare('SELECT reviewer_name FROM result_reviews WHERE session_id = ?').get(reviewed.sessionId)).toEqual({ reviewer_name: reviewer.displayName });
  });

  it('audit rows past every period are removed oldest first behind an anchor, and the chain still verifies', () => {
    const before = (studio.db.prepare('SELECT MIN(id) AS id FROM audit_log').get() as { id: number }).id;
    // Every organisation's rows past the period (B's and the studio's own at their defaults).
    const report = studio.dataProtection.runRetention({ trigger: 'test', now: Date.now() + 4000 * DAY });
    expect(report.classes.audit.removed).toBeGreaterThan(0);
    const anchor = studio.db.prepare('SELECT upto_id FROM audit_anchor').get() as { upto_id: number };
    expect(anchor.upto_id).toBeGreaterThanOrEqual(before);
    expect(studio.db.prepare('SELECT COUNT(*) AS n FROM audit_log WHERE id <= ?').get(anchor.upto_id)).toEqual({ n: 0 });
    // The open review's rows stay (held), so the log was cut before them.
    expect(studio.audit.list(reviewed.sessionId).length).toBeGreaterThan(0);
    expect(verifyAuditChain(studio.db)).toMatchObject({ ok: true, anchoredUpTo: anchor.upto_id });
  });
});

describe('erasure', () => {
  const NAME = 'Zephyrine Quillfeather';
  const EMAIL = 'zephyrine.quill@rowan.example';
  const REF = 'ROWAN-ZQ-7731';
  let day: FinishedDay;
  let candidate: Person;
  let recording: { id: string; file: string };
  let scoringDocs: { sheet: string; rubric: string };

  beforeAll(async () => {
    day = await finishedDay(orgA, { title: `Assessment of ${NAME}`, candidate: { displayName: NAME, candidateRef: REF } });
    candidate = studio.people.get(day.one('candidate').personId!)!;
    studio.people.change(candidate.id, { email: EMAIL });
    // Free text that names them: a moderator's rationale, before sign-off.
    const moderator = day.one('moderator');
    const view = (await callAs<ModerationView>(studio, moderator, 'GET', `/moderation/sessions/${day.sessionId}`)).body;
    const kss1 = view.rows.find((r) => r.part === 1 && r.itemId === 'kss-1')!;
    const changed = await callAs(studio, moderator, 'POST', `/moderation/sessions/${day.sessionId}/marks`, {
      part: 1,
      itemId: 'kss-1',
      rating: kss1.final === 4 ? 3 : 4,
      rationale: `${NAME} explained the plan to the parent clearly.`,
      expected: kss1.final,
    });
    expect(changed.status).toBe(200);
    // Free text inside the scoring documents (Yjs binary): an observer's evidence note and the
    // lead observer's feedback name them.
    const [sheetName, sheet] = [...studio.docStore.loadUnder(sheetsPrefix(day.sessionId))].find(([, doc]) => doc.getMap('notes').size > 0)!;
    const sheetBefore = Y.encodeStateVector(sheet);
    const [key, note] = [...sheet.getMap<EvidenceNote>('notes').entries()][0]!;
    sheet.getMap<EvidenceNote>('notes').set(key, { ...note, text: `${NAME} kept eye contact with the parent.` });
    studio.docStore.append(sheetName, Y.encodeStateAsUpdate(sheet, sheetBefore));
    const rubricName = collabDocName(day.sessionId, 'rubric');
    const { ydoc: rubric } = studio.docStore.load(rubricName);
    const rubricBefore = Y.encodeStateVector(rubric);
    rubric.getMap('feedback').set(feedbackKey('overall', 'strengths'), `${NAME} listened to the parent and named the risks.`);
    studio.docStore.append(rubricName, Y.encodeStateAsUpdate(rubric, rubricBefore));
    scoringDocs = { sheet: sheetName, rubric: rubricName };
    await signOffDemoDay(studio, day);
    recording = recordingOf(day);
    studio.db.prepare("INSERT INTO equalities_answers (organisation_id, candidate_ref, declined, answered_at) VALUES (?, ?, 1, ?)").run(orgA, REF, new Date().toISOString());
    studio.mailer.enqueue({ organisationId: orgA, to: EMAIL, subject: `Your result, ${NAME}`, text: `Dear ${NAME}, your result is ready.`, kind: 'result.available' });
    studio.audit.append({ person: { personId: adminA.person.id, name: adminA.person.displayName, role: 'administrator', organisationId: orgA }, action: 'note', detail: { about: NAME, email: EMAIL } });
  }, 60_000);

  it('only the organisation’s administrator erases: a coordinator is refused, and another organisation’s administrator finds nobody', async () => {
    const body = { reason: 'Erasure requested by the candidate', keepResults: { reason: 'Statutory assessment record' } };
    expect((await asStaff(coordinatorA, 'POST', `/org/people/${candidate.id}/erase`, body)).status).toBe(403);
    expect((await asStaff(adminB, 'POST', `/org/people/${candidate.id}/erase`, body)).status).toBe(404);
    expect((await asStaff(adminB, 'POST', '/org/data-protection/holds', { sessionId: day.sessionId, reason: 'Not ours to hold' })).status).toBe(404);
    expect(studio.people.get(candidate.id)?.displayName).toBe(NAME);
    // Results exist: the reason they are kept must be given.
    expect((await asStaff(adminA, 'POST', `/org/people/${candidate.id}/erase`, { reason: 'Erasure requested by the candidate' })).status).toBe(400);
    expect(studio.people.get(candidate.id)?.displayName).toBe(NAME);
  });

  it('a held session refuses the erasure until the hold is released', async () => {
    const hold = await asStaff<LegalHold>(adminA, 'POST', '/org/data-protection/holds', { sessionId: day.sessionId, reason: 'Complaint under investigation' });
    const refused = await asStaff(adminA, 'POST', `/org/people/${candidate.id}/erase`, { reason: 'Requested', keepResults: { reason: 'Statutory assessment record' } });
    expect(refused.status).toBe(409);
    expect(fs.existsSync(recording.file)).toBe(true);
    expect((await asStaff(adminA, 'POST', `/org/data-protection/holds/${hold.body.id}/release`, { reason: 'Investigation closed' })).status).toBe(200);
  });

  it('erasing the candidate of a moderated day leaves no trace of their name, email or reference in any table; the result is kept with its reason', async () => {
    // The lead observer has the lead document open: the erasure must not leave the server's
    // copy in memory (it would be stored again) nor the text as it was on anyone's screen.
    const lead = day.one('leadObserver');
    const open = new RawCollabClient(collabUrl(studio.baseUrl, scoringDocs.rubric, lead.id), { cookie: await signIn(studio, lead) });
    await open.synced;
    expect(open.ydoc.getMap('feedback').get(feedbackKey('overall', 'strengths'))).toContain(NAME);
    const erased = await asStaff<ErasureReport>(adminA, 'POST', `/org/people/${candidate.id}/erase`, {
      reason: 'Erasure requested by the candidate',
      keepResults: { reason: 'Statutory assessment record' },
    });
    expect(erased.status).toBe(200);
    const { pseudonym } = erased.body;
    expect(pseudonym).toMatch(/^Erased person [0-9a-f]{8}$/);
    expect(erased.body.resultsKept).toEqual({ sessionIds: [day.sessionId], reason: 'Statutory assessment record' });

    // Every column of every table, text and bytes alike.
    const found: string[] = [];
    for (const table of tableNames(studio.db)) {
      for (const row of studio.db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>) {
        for (const [column, value] of Object.entries(row)) {
          const text = value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value);
          for (const needle of [NAME, EMAIL, REF, 'Zephyrine', 'Quillfeather']) if (text.includes(needle)) found.push(`${table}.${column}: ${needle}`);
        }
      }
    }
    expect(found).toEqual([]);
    // The scoring documents still read as before, with the pseudonym where the name was.
    const sheetNow = studio.docStore.load(scoringDocs.sheet).ydoc;
    expect([...sheetNow.getMap<EvidenceNote>('notes').values()].map((n) => n.text)).toContain(`${pseudonym} kept eye contact with the parent.`);
    expect(studio.docStore.load(scoringDocs.rubric).ydoc.getMap('feedback').get(feedbackKey('overall', 'strengths'))).toBe(`${pseudonym} listened to the parent and named the risks.`);
    expect(erased.body.tables.collab_snapshots).toBeGreaterThanOrEqual(2);
    expect(await open.closed).toEqual({ code: CLOSE_CODES.ServerError, reason: 'the document was changed on the server; reconnecting' });
    const reopened = new RawCollabClient(collabUrl(studio.baseUrl, scoringDocs.rubric, lead.id), { cookie: await signIn(studio, lead) });
    await reopened.synced;
    expect(reopened.ydoc.getMap('feedback').get(feedbackKey('overall', 'strengths'))).toBe(`${pseudonym} listened to the parent and named the risks.`);
    reopened.close();

    expect(studio.people.get(candidate.id)).toMatchObject({ displayName: pseudonym, email: null });
    expect(studio.sessions.getParticipant(day.one('candidate').id)?.displayName).toBe(pseudonym);
    expect((studio.db.prepare('SELECT title FROM sessions WHERE id = ?').get(day.sessionId) as { title: string }).title).toBe(`Assessment of ${pseudonym}`);
    // The statutory result stays: signed off, with the rationale now naming the pseudonym.
    expect(studio.db.prepare('SELECT status FROM moderation_results WHERE session_id = ?').get(day.sessionId)).toEqual({ status: 'signedOff' });
    expect(studio.db.prepare("SELECT rationale FROM moderated_marks WHERE session_id = ? AND item_id = 'kss-1'").get(day.sessionId)).toEqual({
      rationale: `${pseudonym} explained the plan to the parent clearly.`,
    });
    expect(studio.db.prepare('SELECT results_kept_reason, reason FROM erasures WHERE person_id = ?').get(candidate.id)).toEqual({
      results_kept_reason: 'Statutory assessment record',
      reason: 'Erasure requested by the candidate',
    });
    // Their recording is gone, file and all; their equalities answers too.
    expect(fs.existsSync(recording.file)).toBe(false);
    expect(studio.recordings.get(recording.id)?.status).toBe('deleted');
    expect(erased.body.tables.equalities_answers).toBe(1);
    // The erasure is audited, and the chain verifies with their rows pseudonymised.
    expect(studio.audit.listForOrganisation(orgA, { action: 'person.erased' })[0]).toMatchObject({ name: adminA.person.displayName, detail: { personId: candidate.id, pseudonym } });
    expect(studio.audit.listForOrganisation(orgA, { action: 'note' })[0]!.detail).toEqual({ about: pseudonym, email: expect.stringMatching(/@erased\.invalid$/) });
    expect(verifyAuditChain(studio.db)).toMatchObject({ ok: true, firstBad: null });
    // Once only.
    expect((await asStaff(adminA, 'POST', `/org/people/${candidate.id}/erase`, { reason: 'Again', keepResults: { reason: 'Statutory record' } })).status).toBe(409);
  });

  it('outside an erasure or retention run, protected rows still refuse ordinary changes', () => {
    const lastId = (studio.db.prepare('SELECT MAX(id) AS id FROM audit_log').get() as { id: number }).id;
    expect(() => studio.db.prepare("UPDATE audit_log SET actor_name = 'someone else', personal_salt = NULL, pseudonymised_by = 'x' WHERE id = ?").run(lastId)).toThrow(/append-only/);
    expect(() => studio.db.prepare('DELETE FROM audit_log WHERE id = ?').run(lastId)).toThrow(/append-only/);
    expect(() => studio.db.prepare("UPDATE written_snapshots SET text = 'rewritten' WHERE session_id = ?").run(day.sessionId)).toThrow(/cannot change/);
    expect(() => studio.db.prepare('DELETE FROM written_snapshots WHERE session_id = ?').run(day.sessionId)).toThrow(/cannot be deleted/);
    expect(() => studio.db.prepare("UPDATE moderated_marks SET rationale = 'changed' WHERE session_id = ?").run(day.sessionId)).toThrow(/signed off/);
    // An audit row that does not extend the chain is refused.
    expect(() =>
      studio.db
        .prepare("INSERT INTO audit_log (at, action, detail, personal_salt, personal_digest, prev_hash, row_hash) VALUES ('x', 'forged', '{}', 's', 'd', 'not-the-head', 'h')")
        .run(),
    ).toThrow(/extend the hash chain/);
  });

  it('the admin route reports the chain holds; a raw change to the log (triggers dropped) is found', async () => {
    expect((await asStaff(adminA, 'GET', '/org/data-protection/audit-chain')).body).toEqual({ ok: true, reason: null });
    expect((await asStaff(coordinatorA, 'GET', '/org/data-protection/audit-chain')).status).toBe(403);
    const target = studio.db.prepare("SELECT id FROM audit_log WHERE personal_salt IS NOT NULL AND action = 'legal_hold.set' ORDER BY id DESC LIMIT 1").get() as { id: number };
    dropTrigger(studio.db, 'audit_log_no_update', 'audit_log');
    studio.db.prepare("UPDATE audit_log SET detail = '{\"reason\":\"nothing\"}' WHERE id = ?").run(target.id);
    expect(verifyAuditChain(studio.db)).toMatchObject({ ok: false, firstBad: { id: target.id, reason: 'the name or detail was changed' } });
    expect((await asStaff(adminA, 'GET', '/org/data-protection/audit-chain')).body).toMatchObject({ ok: false });
  });
});
