// Subject access export (issue 15 item 7): on a finished, moderated day, the archive of the
// candidate and of an observer holds what the studio holds about them — checked by unzipping
// it: the JSON's real values, the report PDF with their name, recording bytes equal to the
// stored files, audit rows — and nothing of the other people but their role. Another
// organisation's administrator gets 404; candidates, actors and other staff cannot export.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import type { Participant } from '../../shared/domain.ts';
import { STAFF_COOKIE, type Person } from '../../shared/people.ts';
import type { SubjectAccessAuditRow, SubjectAccessPerson, SubjectAccessRecords } from '../../shared/subject-access.ts';
import { demoBooking } from '../../server/demo.ts';
import { DEMO_FEEDBACK, DEMO_WRITTEN_TEXT, finishDemoDay } from '../../server/demo-finished.ts';
import { EqualitiesRepo } from '../../server/equalities/equalities-repo.ts';
import { signOffDemoDay, storedRecording } from '../helpers/calibration.ts';
import { pdfText, type FinishedDay } from '../helpers/moderation.ts';
import { signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { studioEnv } from '../helpers/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let studio: TestStudio;
let day: FinishedDay;
let orgA: string;
let adminSecret: string;
let coordinatorSecret: string;
let observerStaffSecret: string;
let otherAdminSecret: string;
let candidatePerson: Person;
const stored: Record<string, { id: string; bytes: Buffer }> = {};

/** Unzips a whole archive into name → bytes (the test's own reader, not the writer's library). */
async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const archive = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const files = new Map<string, Buffer>();
  for await (const entry of archive.eachEntry()) {
    const stream = await archive.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    files.set(entry.fileName, Buffer.concat(chunks));
  }
  return files;
}

async function exportAs(secret: string | null, personId: string): Promise<{ status: number; body: Buffer; type: string; disposition: string }> {
  const res = await fetch(`${studio.baseUrl}/api/org/people/${encodeURIComponent(personId)}/subject-access`, { headers: secret ? { cookie: `${STAFF_COOKIE}=${secret}` } : {} });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') ?? '', disposition: res.headers.get('content-disposition') ?? '' };
}

const parse = <T>(files: Map<string, Buffer>, name: string): T => {
  const file = files.get(name);
  if (!file) throw new Error(`${name} is not in the archive (${[...files.keys()].join(', ')})`);
  return JSON.parse(file.toString('utf8')) as T;
};

const one = (role: Participant['role']): Participant => day.one(role);

beforeAll(async () => {
  studio = await startTestStudio();
  orgA = studio.people.createOrganisation('Alder Trust').id;
  const { sessionId, participants } = studio.assessment.book(
    { ...demoBooking(), title: 'Alder assessment', candidate: { displayName: 'Aurelia Alderwood', candidateRef: 'ALDER-0042' } },
    Math.random,
    orgA,
  );
  finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, sessionId, participants);
  day = { sessionId, participants, one: (role) => participants.find((p) => p.role === role)! };
  await signOffDemoDay(studio, day);

  // Recordings: the candidate's own (large enough to stream in many chunks), the actor's, and
  // the lead observer's backup of scenario 2 (a capture of their page, showing the candidate).
  stored.candidate = storedRecording(studio, sessionId, one('candidate').id, 1, 11, randomBytes(3 * 1024 * 1024 + 17));
  stored.actor = storedRecording(studio, sessionId, one('actor').id, 1, 12, Buffer.from('actor scenario 1 webm'));
  stored.backup = storedRecording(studio, sessionId, one('leadObserver').id, 2, 13, Buffer.from('lead backup of scenario 2'), 'fallback');
  // An actor's recording whose file is gone (removed by hand): listed, not archived.
  stored.lost = storedRecording(studio, sessionId, one('actor').id, 3, 14, Buffer.from('lost'));
  fs.rmSync(path.join(studio.recordings.dir, sessionId, `${stored.lost.id}.webm`));

  // What else the studio holds about the candidate: an email address and a message, equalities
  // answers, an invite link opened (an audit row of theirs), a test call.
  candidatePerson = studio.people.change(one('candidate').personId!, { email: 'aurelia@alder.example' });
  studio.mailer.enqueue({
    organisationId: orgA,
    to: 'aurelia@alder.example',
    subject: 'Your assessment on Thursday',
    kind: 'invitation',
    text: `Hello Aurelia,\n\nJoin with ${studio.baseUrl}/join/eyJhbGciOiJIUzI1NiJ9.secret-token.sig on the day.`,
  });
  const answered = new EqualitiesRepo(studio.db).submit(
    orgA,
    'ALDER-0042',
    { decision: 'answer', answers: { ageBand: '35-44', sex: 'female', ethnicity: 'white-british', disability: 'no', firstLanguageEnglish: 'yes' } },
    new Date(),
  );
  if (!answered) throw new Error('equalities answers not stored');
  await signIn(studio, one('candidate'));
  studio.db
    .prepare(
      `INSERT INTO test_calls (participant_id, session_id, at, passed, failed_step, path, rtt_ms, upload_kbps, browser, result)
       VALUES (?, ?, ?, 1, NULL, 'udp', 7, 1100, 'Chromium 140', '{"passed":true}')`,
    )
    .run(one('candidate').id, sessionId, Date.parse('2026-11-30T14:02:00Z'));

  const admin = studio.people.create(orgA, { displayName: 'Alma Admin', email: 'alma@alder.example', roles: ['administrator'] });
  adminSecret = studio.staffSessions.create(admin.id, 'magic-link', 'vitest').secret;
  const coordinator = studio.people.create(orgA, { displayName: 'Cora Coordinator', email: 'cora@alder.example', roles: ['coordinator'] });
  coordinatorSecret = studio.staffSessions.create(coordinator.id, 'magic-link', 'vitest').secret;
  const observerStaff = studio.people.create(orgA, { displayName: 'Oona Observer', email: 'oona@alder.example', roles: ['observer', 'moderator'] });
  observerStaffSecret = studio.staffSessions.create(observerStaff.id, 'magic-link', 'vitest').secret;
  const orgB = studio.people.createOrganisation('Birch Council').id;
  const otherAdmin = studio.people.create(orgB, { displayName: 'Bianca Birch-Admin', email: 'bianca@birch.example', roles: ['administrator', 'coordinator'] });
  otherAdminSecret = studio.staffSessions.create(otherAdmin.id, 'magic-link', 'vitest').secret;
}, 120_000);

afterAll(async () => {
  await studio?.close();
});

describe('subject access export', () => {
  let files: Map<string, Buffer>;

  it('gives an administrator the candidate’s archive: who they are, their assessment, report, recordings and audit', async () => {
    const res = await exportAs(adminSecret, candidatePerson.id);
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/zip');
    expect(res.disposition).toMatch(/attachment; filename="subject-access-Aurelia-Alderwood-\d{4}-\d{2}-\d{2}\.zip"/);
    files = await unzip(res.body);

    const person = parse<SubjectAccessPerson>(files, 'person.json');
    expect(person.organisation.name).toBe('Alder Trust');
    expect(person.person).toMatchObject({ id: candidatePerson.id, displayName: 'Aurelia Alderwood', email: 'aurelia@alder.example', candidateRef: 'ALDER-0042', roles: ['candidate'], removedAt: null });

    const records = parse<SubjectAccessRecords>(files, 'records.json');
    expect(records.sessions).toHaveLength(1);
    // Their answers to the privacy and recording notices (accepted when they signed in; version 0
    // is the shipped default).
    expect(records.more.privacyNoticeAnswers).toEqual(expect.arrayContaining([expect.objectContaining({ sessionId: day.sessionId, decision: 'accepted', privacyNoticeVersion: 0, recordingNoticeVersion: 0 })]));
    const session = records.sessions[0]!;
    expect(session).toMatchObject({ sessionId: day.sessionId, title: 'Alder assessment', role: 'candidate', bookedAs: 'Aurelia Alderwood', dayStatus: 'complete' });
    expect(session.booking).toMatchObject({ candidateRef: 'ALDER-0042', retake: null });
    expect(session.scenarios?.map((s) => s.number)).toEqual([1, 2, 3]);
    expect(session.written?.text).toContain(DEMO_WRITTEN_TEXT[0]);
    expect(session.written?.sha256).toMatch(/^[0-9a-f]{64}$/);

    // The assessment about them, as moderation holds it.
    const view = studio.moderation.facts(day.sessionId);
    const assessment = session.assessment!;
    if (assessment.status === 'not signed off') throw new Error('the signed-off assessment is missing');
    expect(assessment.status).toBe('signed off');
    expect(assessment.outcome).toEqual(studio.moderation.standingOutcome(view));
    expect(assessment.marks.map((m) => [m.part, m.itemId, m.final])).toEqual(view.rows.map((r) => [r.part, r.itemId, r.final]));
    const changed = assessment.marks.find((m) => m.part === 1 && m.itemId === 'kss-2')!;
    expect(changed.moderated?.rationale).toBe('The recording shows clear, warm communication.');
    expect(changed.observers.map((o) => o.observer)).toEqual(['Lead observer', 'Observer 1']);
    expect(changed.observers.map((o) => o.rating)).toEqual(view.rows.find((r) => r.part === 1 && r.itemId === 'kss-2')!.observers.map((o) => o.rating));
    expect(assessment.feedback).toEqual(DEMO_FEEDBACK);
    expect(assessment.evidenceNotes.map((n) => [n.scenario, n.by, n.text])).toContainEqual([1, 'Observer 1', 'Scenario 1: candidate explained the reason for the visit and asked open questions.']);
    expect(assessment.globalJudgements.length).toBeGreaterThan(0);
    expect(assessment.report).toBe(`reports/${day.sessionId}.pdf`);

    // Everything else held about them.
    expect(records.equalities).toEqual({
      declined: false,
      answers: { ageBand: '35-44', sex: 'female', ethnicity: 'white-british', disability: 'no', firstLanguageEnglish: 'yes' },
      answeredAt: expect.any(String),
    });
    expect(records.emails).toHaveLength(1);
    expect(records.emails[0]).toMatchObject({ subject: 'Your assessment on Thursday', kind: 'invitation' });
    expect(records.emails[0]!.text).toContain('[personal link withheld');
    expect(records.emails[0]!.text).not.toContain('secret-token');
    expect(session.inviteLinks.length).toBeGreaterThanOrEqual(1);
    expect(session.testCalls).toEqual([{ at: '2026-11-30T14:02:00.000Z', passed: true, failedStep: null, path: 'udp', rttMs: 7, uploadKbps: 1100, browser: 'Chromium 140', result: { passed: true } }]);

    // Other people by role only: no observer's, moderator's or actor's name anywhere in the JSON.
    const json = ['person.json', 'records.json', 'audit.json'].map((n) => files.get(n)!.toString('utf8')).join('\n');
    for (const name of ['Priya Shah', 'Tom Ellis', 'Helen Price', 'Alex Morgan', 'Jo Bennett', 'Alma Admin']) expect(json, name).not.toContain(name);
  });

  it('holds the candidate’s report as a PDF with their name', () => {
    const pdf = files.get(`reports/${day.sessionId}.pdf`)!;
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = pdfText(pdf);
    expect(text).toContain('Feedback report');
    expect(text).toContain('Aurelia Alderwood');
    expect(text).toContain('ALDER-0042');
  });

  it('holds the recordings they appear in, byte for byte, and not the actor’s own', () => {
    const recordings = [...files.keys()].filter((n) => n.startsWith('recordings/'));
    expect(recordings).toHaveLength(2);
    const own = recordings.find((n) => n.endsWith(`${stored.candidate!.id}.webm`))!;
    expect(own).toBe(`recordings/${day.sessionId}/scenario-1-1-${stored.candidate!.id}.webm`);
    expect(files.get(own)!.equals(stored.candidate!.bytes)).toBe(true);
    const backup = recordings.find((n) => n.endsWith(`${stored.backup!.id}.webm`))!;
    expect(files.get(backup)!.equals(stored.backup!.bytes)).toBe(true);
    expect(recordings.some((n) => n.includes(stored.actor!.id))).toBe(false);
    const listed = parse<SubjectAccessRecords>(files, 'records.json').sessions[0]!.recordings;
    expect(listed.map((r) => [r.id, r.file, r.bytes])).toEqual(
      expect.arrayContaining([
        [stored.candidate!.id, own, stored.candidate!.bytes.length],
        [stored.backup!.id, backup, stored.backup!.bytes.length],
      ]),
    );
  });

  it('holds the audit rows about them, and the export itself is audited', () => {
    const audit = parse<SubjectAccessAuditRow[]>(files, 'audit.json');
    expect(audit.find((r) => r.action === 'invite.opened')).toMatchObject({ actor: 'you', sessionId: day.sessionId });
    expect(audit.find((r) => r.action === 'subject_access.exported')).toMatchObject({ actor: 'administrator', detail: { personId: candidatePerson.id, sessions: 1, recordings: 2, reports: 1 } });
    const rows = studio.db.prepare("SELECT actor_name, organisation_id, detail FROM audit_log WHERE action = 'subject_access.exported'").all() as Array<{ actor_name: string; organisation_id: string; detail: string }>;
    expect(rows.map((r) => [r.actor_name, r.organisation_id, JSON.parse(r.detail).personId])).toContainEqual(['Alma Admin', orgA, candidatePerson.id]);
  });

  it('gives an observer’s archive their own ratings and notes, and the lead’s the agreed marks and narrative', async () => {
    const res = await exportAs(coordinatorSecret, one('observer').personId!);
    expect(res.status).toBe(200);
    const observerFiles = await unzip(res.body);
    const records = parse<SubjectAccessRecords>(observerFiles, 'records.json');
    const session = records.sessions[0]!;
    expect(session.role).toBe('observer');
    expect(session.assessment).toBeUndefined();
    expect(session.written).toBeUndefined();
    const rows = studio.moderation.facts(day.sessionId).rows.filter((r) => r.part !== 'written');
    expect(session.scoring!.ratings.map((r) => [r.part, r.itemId, r.rating])).toEqual(rows.map((r) => [r.part, r.itemId, r.observers.find((o) => o.observerId === one('observer').id)!.rating]));
    expect(session.scoring!.ratings.filter((r) => r.rating !== null).length).toBeGreaterThan(10);
    expect(session.scoring!.evidenceNotes.map((n) => n.text)).toContain('Scenario 2: candidate explained the reason for the visit and asked open questions.');
    expect(session.scoring!.agreed).toBeUndefined();
    expect([...observerFiles.keys()].filter((n) => n.startsWith('reports/') || n.startsWith('recordings/'))).toEqual([]);

    const lead = await unzip((await exportAs(adminSecret, one('leadObserver').personId!)).body);
    const leadSession = parse<SubjectAccessRecords>(lead, 'records.json').sessions[0]!;
    expect(leadSession.scoring!.feedback).toEqual(DEMO_FEEDBACK);
    expect(leadSession.scoring!.agreed!.length).toBeGreaterThan(10);
    // Their backup recording is theirs too.
    expect(lead.get(`recordings/${day.sessionId}/scenario-2-1-${stored.backup!.id}.webm`)?.equals(stored.backup!.bytes)).toBe(true);
  });

  it('gives an actor’s archive the scenarios they played and their recordings; a missing file is listed, not archived', async () => {
    const res = await exportAs(adminSecret, one('actor').personId!);
    expect(res.status).toBe(200);
    const actorFiles = await unzip(res.body);
    const session = parse<SubjectAccessRecords>(actorFiles, 'records.json').sessions[0]!;
    expect(session).toMatchObject({ role: 'actor', bookedAs: 'Alex Morgan', scenarios: [{ number: 1 }, { number: 2 }, { number: 3 }] });
    expect(session.assessment).toBeUndefined();
    expect(session.scoring).toBeUndefined();
    expect(session.recordings.map((r) => [r.id, r.file])).toEqual([
      [stored.actor!.id, `recordings/${day.sessionId}/scenario-1-1-${stored.actor!.id}.webm`],
      // The lead's backup of scenario 2, which the actor played.
      [stored.backup!.id, `recordings/${day.sessionId}/scenario-2-1-${stored.backup!.id}.webm`],
      [stored.lost!.id, null],
    ]);
    expect(actorFiles.get(`recordings/${day.sessionId}/scenario-1-1-${stored.actor!.id}.webm`)!.equals(stored.actor!.bytes)).toBe(true);
    expect([...actorFiles.keys()].filter((n) => n.includes(stored.lost!.id))).toEqual([]);
    expect([...actorFiles.keys()].filter((n) => n.startsWith('reports/'))).toEqual([]);
  });

  it('gives the moderator’s archive the marks they set and their sign-off', async () => {
    const moderatorFiles = await unzip((await exportAs(adminSecret, one('moderator').personId!)).body);
    const session = parse<SubjectAccessRecords>(moderatorFiles, 'records.json').sessions[0]!;
    expect(session.role).toBe('moderator');
    expect(session.moderation!.marks.map((m) => [m.part, m.itemId, m.rationale])).toEqual(
      expect.arrayContaining([
        [1, 'kss-2', 'The recording shows clear, warm communication.'],
        ['written', 'written-notes', 'Clear, analytical and linked to risk.'],
      ]),
    );
    expect(session.moderation!.signedOffAt).toBe(studio.moderation.repo.result(day.sessionId)!.signedOffAt);
    const audit = parse<SubjectAccessAuditRow[]>(moderatorFiles, 'audit.json');
    expect(audit.filter((r) => r.actor === 'you').map((r) => r.action)).toEqual(expect.arrayContaining(['moderation.mark_changed', 'moderation.signed_off']));
  });

  it('answers 404 to another organisation’s administrator, and refuses candidates, actors and other staff', async () => {
    const before = (studio.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'subject_access.exported'").get() as { n: number }).n;
    const foreign = await exportAs(otherAdminSecret, candidatePerson.id);
    expect(foreign.status).toBe(404);
    expect(foreign.body.toString()).not.toContain('Aurelia');
    expect((await exportAs(otherAdminSecret, 'no-such-person')).status).toBe(404);

    // Candidates and actors hold invite links, not staff sign-ins: their cookies do not sign in here.
    for (const role of ['candidate', 'actor'] as const) {
      const cookie = await signIn(studio, one(role));
      const res = await fetch(`${studio.baseUrl}/api/org/people/${candidatePerson.id}/subject-access?participantId=${one(role).id}`, { headers: { cookie } });
      expect(res.status, role).toBe(401);
    }
    expect((await exportAs(null, candidatePerson.id)).status).toBe(401);
    const refused = await exportAs(observerStaffSecret, candidatePerson.id);
    expect(refused.status).toBe(403);
    expect(studio.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'access.refused' AND actor_name = 'Oona Observer'").get()).toEqual({ n: 1 });
    expect((studio.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'subject_access.exported'").get() as { n: number }).n).toBe(before);
  });

  it('writes the same archive from the command line, readable by the operator only', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-sar-')), 'aurelia.zip');
    const run = spawnSync(process.execPath, ['server/admin-cli.ts', 'subject-access', '--person', candidatePerson.id, '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...studioEnv(studio.dataDir), SIMSTUDIO_LOG_LEVEL: 'warn' },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const answer = JSON.parse(run.stdout) as { person: string; bytes: number; recordings: number; reports: number };
    expect(answer).toMatchObject({ person: 'Aurelia Alderwood', recordings: 2, reports: 1 });
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(fs.statSync(out).size).toBe(answer.bytes);
    const cli = await unzip(fs.readFileSync(out));
    expect(cli.get(`recordings/${day.sessionId}/scenario-1-1-${stored.candidate!.id}.webm`)!.equals(stored.candidate!.bytes)).toBe(true);
    expect(parse<SubjectAccessRecords>(cli, 'records.json').sessions[0]!.written?.text).toContain(DEMO_WRITTEN_TEXT[0]);
    expect(pdfText(cli.get(`reports/${day.sessionId}.pdf`)!)).toContain('Aurelia Alderwood');
    const operatorRow = studio.db.prepare("SELECT actor_name FROM audit_log WHERE action = 'subject_access.exported' ORDER BY id DESC LIMIT 1").get() as { actor_name: string };
    expect(operatorRow.actor_name).toBe('npm run admin');
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });

  it('refuses a command without a person, in one line', () => {
    const run = spawnSync(process.execPath, ['server/admin-cli.ts', 'subject-access', '--out', '/tmp/x.zip'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...studioEnv(studio.dataDir)} });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/^person: --person ID is required/);
  });
});
