// Subject access (issue 15 item 7): everything the studio holds about one person, gathered
// for the archive (subject-access-archive.ts). What each role receives:
// - everyone: who they are, how they sign in (never a secret), each session they took part in
//   with their role, their recordings, test calls, invite links (never the link), mail sent to
//   them (sign-in and invite links withheld), consents, and the audit rows they acted in or
//   that name them;
// - candidates: their booking (reference, adjustments, employer), the scenarios they sat, their
//   written exercise, and, once the result is signed off, the assessment about them: every
//   mark (each observer's rating, the agreed and the moderated mark with its rationale), the
//   global judgements, the narrative, the evidence notes and reviews, and their report as PDF.
//   Before sign-off the marks are provisional and not given (DPA 2018 Sch. 2 para 26 lets exam
//   marks wait for the result);
// - observers and lead observers: their own ratings, global judgements and evidence notes (the
//   lead also the agreed ratings and narrative); moderators: the marks they set; actors: the
//   scenarios they played; everyone who judged: their calibration attempts and Angoff estimates.
// Other people appear by role only ("Observer 1", "coordinator"): they are not the subject.
import fs from 'node:fs';
import path from 'node:path';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { Part } from '../../shared/moderation.ts';
import type { Person } from '../../shared/people.ts';
import type { RubricMap } from '../../shared/rubric.ts';
import { EvidenceNoteSchema } from '../../shared/rubric-schemas.ts';
import type {
  SubjectAccessAssessment,
  SubjectAccessAuditRow,
  SubjectAccessNote,
  SubjectAccessPerson,
  SubjectAccessRecords,
  SubjectAccessSession,
} from '../../shared/subject-access.ts';
import { PlansRepo } from '../assessment/plans-repo.ts';
import type { Database } from '../db/database.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { withholdSignInLinks } from '../http/identity-routes.ts';
import { overallFeedback } from '../moderation/marks.ts';
import type { ModerationService, SessionFacts } from '../moderation/moderation-service.ts';
import type { PeopleRepo } from '../people/people-repo.ts';

/** A recording file to put in the archive (its row; `file` is relative to the recordings folder). */
export interface SubjectRecording {
  id: string;
  sessionId: string;
  file: string;
  bytes: number | null;
  /** Its name in the archive. */
  archivePath: string;
}

/** A candidate's report for one signed-off session. */
export interface SubjectReport {
  sessionId: string;
  facts: SessionFacts;
  archivePath: string;
}

export interface SubjectAccessData {
  person: SubjectAccessPerson;
  records: SubjectAccessRecords;
  audit: SubjectAccessAuditRow[];
  reports: SubjectReport[];
  recordings: SubjectRecording[];
}

/** A part of the studio that holds more about people (a privacy notice's acceptances, say)
 *  adds its own section to records.json under `more`. */
export type SubjectAccessContributor = (person: Person) => unknown;

export interface SubjectAccessDeps {
  db: Database;
  people: PeopleRepo;
  sessions: SessionsRepo;
  moderation: ModerationService;
  contributors?: ReadonlyMap<string, SubjectAccessContributor>;
  /** The data directory's recordings folder (rows name files relative to it). */
  recordingsDir: string;
  now?: () => Date;
}

const OBSERVING = new Set(['observer', 'leadObserver']);
const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
const json = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
/** Invite links sign in as the person they were sent to, like sign-in links. */

/** What an export holds, for its audit row. */
export interface SubjectAccessCounts {
  sessions: number;
  reports: number;
  recordings: number;
}

/** Everything the studio holds about `personId` of `organisationId`; NOT_FOUND for a person of
 *  another organisation (as absent as one that does not exist). `audit` records the export
 *  before the audit rows are read, so the archive lists its own making too. */
export function collectSubjectAccess(
  deps: SubjectAccessDeps,
  organisationId: string,
  personId: string,
  audit: (subject: Person, counts: SubjectAccessCounts) => void,
): SubjectAccessData {
  const person = deps.people.get(personId);
  if (!person || person.organisationId !== organisationId) throw new ProtocolFailure('NOT_FOUND', 'no such person');
  const organisation = deps.people.organisation(organisationId)!;
  const places = deps.sessions.participantsOfPerson(person.id);
  const ids = [person.id, ...places.map((p) => p.id)];
  const collector = new Collector(deps, person, places);
  const sessions = places.map((place) => collector.session(place));
  const more: Record<string, unknown> = {};
  for (const [name, contribute] of deps.contributors ?? []) more[name] = contribute(person);
  audit(person, { sessions: sessions.length, reports: collector.reports.length, recordings: collector.recordings.length });
  return {
    person: {
      exportedAt: (deps.now?.() ?? new Date()).toISOString(),
      organisation: { id: organisation.id, name: organisation.name },
      person: {
        id: person.id,
        displayName: person.displayName,
        email: person.email,
        candidateRef: person.candidateRef,
        roles: person.roles,
        createdAt: person.createdAt,
        removedAt: person.removedAt,
      },
      signIn: signInOf(deps.db, person.id),
    },
    records: {
      sessions,
      reviews: collector.reviewsTakenPart(),
      consents: collector.consents(),
      calibrationAttempts: rows<{ case_id: string; ratings: string; global: number; passed: number; submitted_at: string }>(
        deps.db,
        `SELECT case_id, ratings, global, passed, submitted_at FROM calibration_attempts WHERE participant_id IN (${marks(ids)}) ORDER BY submitted_at`,
        ...ids,
      ).map((r) => ({ caseId: r.case_id, ratings: json(r.ratings), global: r.global, passed: r.passed === 1, submittedAt: r.submitted_at })),
      angoffEstimates: rows<{ template_id: string; item_id: string; estimate: number; updated_at: string }>(
        deps.db,
        `SELECT template_id, item_id, estimate, updated_at FROM angoff_estimates WHERE by_participant_id IN (${marks(ids)}) ORDER BY template_id, item_id`,
        ...ids,
      ).map((r) => ({ templateId: r.template_id, itemId: r.item_id, estimate: r.estimate, updatedAt: r.updated_at })),
      equalities: equalitiesOf(deps.db, person),
      emails: person.email
        ? rows<{ subject: string; text_body: string; kind: string; status: string; created_at: string; sent_at: string | null }>(
            deps.db,
            // Mail of this organisation, or the studio's own, to their address.
            `SELECT subject, text_body, kind, status, created_at, sent_at FROM mail_outbox WHERE lower(to_address) = ? AND (organisation_id = ? OR organisation_id IS NULL) ORDER BY id`,
            person.email.toLowerCase(),
            organisationId,
          ).map((m) => ({ subject: m.subject, text: withholdSignInLinks(m.text_body), kind: m.kind, status: m.status, createdAt: m.created_at, sentAt: m.sent_at }))
        : [],
      more,
    },
    audit: auditOf(deps.db, ids),
    reports: collector.reports,
    recordings: collector.recordings,
  };
}

function marks(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

function rows<T>(db: Database, sql: string, ...params: Array<string | number | null>): T[] {
  return db.prepare(sql).all(...params) as unknown as T[];
}

function signInOf(db: Database, personId: string): SubjectAccessPerson['signIn'] {
  return {
    singleSignOn: rows<{ issuer: string; subject: string; linked_at: string }>(db, 'SELECT issuer, subject, linked_at FROM person_identities WHERE person_id = ? ORDER BY linked_at', personId).map(
      (r) => ({ issuer: r.issuer, subject: r.subject, linkedAt: r.linked_at }),
    ),
    passkeys: rows<{ id: string; transports: string; created_at: string; last_used_at: string | null }>(
      db,
      'SELECT id, transports, created_at, last_used_at FROM passkey_credentials WHERE person_id = ? ORDER BY created_at',
      personId,
    ).map((r) => ({ id: r.id, transports: (json(r.transports) as string[]) ?? [], createdAt: r.created_at, lastUsedAt: r.last_used_at })),
    sessions: rows<{ method: string; user_agent: string; created_at: string; last_seen_at: string; absolute_expires_at: string; revoked_at: string | null }>(
      db,
      'SELECT method, user_agent, created_at, last_seen_at, absolute_expires_at, revoked_at FROM staff_sessions WHERE person_id = ? ORDER BY created_at',
      personId,
    ).map((r) => ({ method: r.method, userAgent: r.user_agent, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.absolute_expires_at, revokedAt: r.revoked_at })),
    emailLinks: rows<{ purpose: string; created_at: string; expires_at: string; used_at: string | null }>(
      db,
      'SELECT purpose, created_at, expires_at, used_at FROM magic_links WHERE person_id = ? ORDER BY created_at',
      personId,
    ).map((r) => ({ purpose: r.purpose, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at })),
  };
}

function equalitiesOf(db: Database, person: Person): SubjectAccessRecords['equalities'] {
  if (!person.candidateRef) return null;
  const row = db
    .prepare('SELECT declined, age_band, sex, ethnicity, disability, first_language_english, answered_at FROM equalities_answers WHERE organisation_id = ? AND candidate_ref = ?')
    .get(person.organisationId, person.candidateRef) as
    | { declined: number; age_band: string | null; sex: string | null; ethnicity: string | null; disability: string | null; first_language_english: string | null; answered_at: string }
    | undefined;
  if (!row) return null;
  return {
    declined: row.declined === 1,
    answers: { ageBand: row.age_band, sex: row.sex, ethnicity: row.ethnicity, disability: row.disability, firstLanguageEnglish: row.first_language_english },
    answeredAt: row.answered_at,
  };
}

/** Rows where they acted (as a person or one of their places), or whose detail names them. */
function auditOf(db: Database, ids: readonly string[]): SubjectAccessAuditRow[] {
  const named = ids.map(() => 'instr(detail, ?) > 0').join(' OR ');
  const found = rows<{ id: number; at: string; session_id: string | null; actor_participant_id: string | null; actor_person_id: string | null; actor_role: string | null; actor_name: string | null; action: string; detail: string }>(
    db,
    `SELECT id, at, session_id, actor_participant_id, actor_person_id, actor_role, actor_name, action, detail FROM audit_log
     WHERE actor_person_id IN (${marks(ids)}) OR actor_participant_id IN (${marks(ids)}) OR ${named} ORDER BY id`,
    ...ids,
    ...ids,
    // Quoted, as JSON holds them: an id inside a longer string is not theirs.
    ...ids.map((id) => JSON.stringify(id)),
  );
  const own = new Set(ids);
  return found.map((r) => {
    const theirs = (r.actor_person_id !== null && own.has(r.actor_person_id)) || (r.actor_participant_id !== null && own.has(r.actor_participant_id));
    const actor = theirs ? 'you' : r.actor_role === 'job' ? (r.actor_name ?? 'scheduled job') : (r.actor_role ?? 'unknown');
    return { id: r.id, at: r.at, sessionId: r.session_id, actor, action: r.action, detail: json(r.detail) as Record<string, unknown> };
  });
}

/** Gathers per session, remembering the reports and recording files the archive will hold. */
class Collector {
  readonly reports: SubjectReport[] = [];
  readonly recordings: SubjectRecording[] = [];
  private readonly plans: PlansRepo;
  private readonly deps: SubjectAccessDeps;
  private readonly person: Person;
  private readonly places: Participant[];

  constructor(deps: SubjectAccessDeps, person: Person, places: Participant[]) {
    this.deps = deps;
    this.person = person;
    this.places = places;
    this.plans = new PlansRepo(deps.db);
  }

  session(place: Participant): SubjectAccessSession {
    const session = this.deps.sessions.getSession(place.sessionId)!;
    const plan = this.plans.plan(session.id);
    const day = this.deps.db.prepare('SELECT status FROM assessment_days WHERE session_id = ?').get(session.id) as { status: string } | undefined;
    const facts = plan && !plan.template.practice ? this.deps.moderation.facts(session.id) : undefined;
    const out: SubjectAccessSession = {
      sessionId: session.id,
      title: session.title,
      level: session.level,
      role: place.role,
      bookedAs: place.displayName,
      participantId: place.id,
      scheduledStart: iso(plan?.scheduledStart),
      dayStatus: day?.status ?? null,
      template: plan ? { id: plan.template.id, version: plan.template.version, name: plan.template.name } : null,
      recordings: this.recordingsOf(place),
      testCalls: rows<{ at: number; passed: number; failed_step: string | null; path: string | null; rtt_ms: number | null; upload_kbps: number | null; browser: string; result: string }>(
        this.deps.db,
        'SELECT at, passed, failed_step, path, rtt_ms, upload_kbps, browser, result FROM test_calls WHERE participant_id = ? ORDER BY at',
        place.id,
      ).map((t) => ({ at: iso(t.at)!, passed: t.passed === 1, failedStep: t.failed_step, path: t.path, rttMs: t.rtt_ms, uploadKbps: t.upload_kbps, browser: t.browser, result: json(t.result) })),
      inviteLinks: rows<{ issued_at: string; valid_until: string; revoked_at: string | null }>(
        this.deps.db,
        'SELECT issued_at, valid_until, revoked_at FROM invite_links WHERE participant_id = ? ORDER BY issued_at',
        place.id,
      ).map((l) => ({ issuedAt: l.issued_at, validUntil: l.valid_until, revokedAt: l.revoked_at })),
    };
    const slots = rows<{ number: number; scenario_id: string; actor_participant_id: string | null }>(
      this.deps.db,
      'SELECT number, scenario_id, actor_participant_id FROM session_scenarios WHERE session_id = ? ORDER BY number',
      session.id,
    );
    if (place.role === 'candidate') {
      if (plan) out.booking = { candidateRef: plan.candidateRef, adjustments: plan.adjustments, employer: plan.employer, retake: plan.retake };
      out.scenarios = slots.map((s) => ({ number: s.number, scenarioId: s.scenario_id }));
      const written = this.deps.db.prepare('SELECT text, frozen_at, sha256 FROM written_snapshots WHERE session_id = ?').get(session.id) as
        | { text: string; frozen_at: number; sha256: string }
        | undefined;
      out.written = written ? { text: written.text, frozenAt: iso(written.frozen_at)!, sha256: written.sha256 } : null;
      if (facts) out.assessment = this.assessmentOf(facts);
    }
    if (place.role === 'actor') out.scenarios = slots.filter((s) => s.actor_participant_id === place.id).map((s) => ({ number: s.number, scenarioId: s.scenario_id }));
    if (OBSERVING.has(place.role) && facts) out.scoring = scoringOf(facts, place);
    if (place.role === 'moderator' && facts) {
      out.moderation = {
        marks: this.deps.moderation.repo
          .marks(session.id)
          .filter((m) => m.byParticipantId === place.id)
          .map((m) => ({ part: m.part, itemId: m.itemId, rating: m.rating, rationale: m.rationale, at: m.at })),
        signedOffAt: facts.stored?.signedOffBy === place.id ? facts.stored.signedOffAt : null,
      };
    }
    return out;
  }

  /** Their own segments; and, for the people on stage, the lead observer's backup recordings
   *  of the phases they were on stage in (a capture of the lead's page, which shows them). */
  private recordingsOf(place: Participant): SubjectAccessSession['recordings'] {
    const found = rows<{ id: string; scenario_key: string; participant_id: string; segment: number; status: string; file: string; bytes: number | null; sha256: string | null; duration_ms: number | null }>(
      this.deps.db,
      `SELECT id, scenario_key, participant_id, segment, status, file, bytes, sha256, duration_ms FROM recordings
       WHERE session_id = ? AND status NOT IN ('deleted', 'recording') AND deleted_at IS NULL ORDER BY phase_index, segment, id`,
      place.sessionId,
    );
    const played = new Set(
      rows<{ number: number }>(this.deps.db, 'SELECT number FROM session_scenarios WHERE session_id = ? AND actor_participant_id = ?', place.sessionId, place.id).map((s) => String(s.number)),
    );
    const onStageIn = (key: string): boolean => place.role === 'candidate' || (place.role === 'actor' && played.has(key));
    return found
      .filter((r) => r.participant_id === place.id || (r.status === 'fallback' && onStageIn(r.scenario_key)))
      .map((r) => {
        const phase = r.scenario_key === 'reflective' ? 'reflective conversation' : `scenario ${r.scenario_key}`;
        // A row whose file is gone (removed by hand, a disk lost) is listed, not archived: one
        // missing file must not cost the person the rest of their archive.
        if (!fs.existsSync(path.join(this.deps.recordingsDir, r.file))) {
          return { id: r.id, phase, segment: r.segment, status: r.status, bytes: r.bytes, sha256: r.sha256, durationMs: r.duration_ms, file: null };
        }
        const archivePath = `recordings/${place.sessionId}/${r.scenario_key === 'reflective' ? 'reflective' : `scenario-${r.scenario_key}`}-${r.segment}-${r.id}.webm`;
        this.recordings.push({ id: r.id, sessionId: place.sessionId, file: r.file, bytes: r.bytes, archivePath });
        return { id: r.id, phase, segment: r.segment, status: r.status, bytes: r.bytes, sha256: r.sha256, durationMs: r.duration_ms, file: archivePath };
      });
  }

  private assessmentOf(facts: SessionFacts): SubjectAccessAssessment {
    if (facts.status === 'awaiting') {
      return { status: 'not signed off', note: 'The result has not been signed off: marks are provisional until it is, and are given once it is.' };
    }
    const observerLabel = observerLabels(facts.participants);
    const report = facts.status === 'moderated' ? `reports/${facts.session.id}.pdf` : null;
    if (report) this.reports.push({ sessionId: facts.session.id, facts, archivePath: report });
    return {
      status: facts.status === 'moderated' ? 'signed off' : 'under review',
      signedOffAt: facts.stored?.signedOffAt ?? null,
      outcome: this.deps.moderation.standingOutcome(facts) ?? facts.stored?.outcome ?? null,
      results: facts.results,
      marks: facts.rows.map((r) => ({
        part: r.part,
        itemId: r.itemId,
        itemTitle: r.itemTitle,
        observers: r.observers.map((o) => ({ observer: observerLabel(o.observerId), rating: o.rating })),
        agreed: r.agreed,
        moderated: r.moderated ? { rating: r.moderated.rating, rationale: r.moderated.rationale, at: r.moderated.at } : null,
        final: r.final,
      })),
      globalJudgements: globalsOf(facts).map((g) => ({ scenario: g.scenario, observer: observerLabel(g.observerId), value: g.value })),
      feedback: overallFeedback(facts.rubric),
      evidenceNotes: notesOf(facts).map((n) => ({ ...n.note, by: observerLabel(n.observerId) })),
      reviews: this.deps.moderation.repo.reviews(facts.session.id).map((r) => ({
        reasons: r.reasons,
        openedAt: r.openedAt,
        decision: r.decision,
        decisionReasons: r.decisionReasons,
        decidedAt: r.decidedAt,
      })),
      report,
    };
  }

  reviewsTakenPart(): SubjectAccessRecords['reviews'] {
    const ids = new Set([this.person.id, ...this.places.map((p) => p.id)]);
    if (ids.size === 0) return [];
    const list = [...ids];
    return rows<{ session_id: string; reviewer_participant_id: string | null; opened_by: string; decided_by: string | null; reasons: string; opened_at: string; decision: string | null; decision_reasons: string | null; decided_at: string | null }>(
      this.deps.db,
      `SELECT session_id, reviewer_participant_id, opened_by, decided_by, reasons, opened_at, decision, decision_reasons, decided_at FROM result_reviews
       WHERE reviewer_participant_id IN (${marks(list)}) OR opened_by IN (${marks(list)}) OR decided_by IN (${marks(list)}) ORDER BY opened_at`,
      ...list,
      ...list,
      ...list,
    ).map((r) => ({
      sessionId: r.session_id,
      as: [
        ...(r.opened_by && ids.has(r.opened_by) ? ['opened it'] : []),
        ...(r.reviewer_participant_id && ids.has(r.reviewer_participant_id) ? ['named reviewer'] : []),
        ...(r.decided_by && ids.has(r.decided_by) ? ['decided it'] : []),
      ],
      reasons: r.reasons,
      openedAt: r.opened_at,
      decision: r.decision === null ? null : (json(r.decision) as Record<string, 'pass' | 'fail'>),
      decisionReasons: r.decision_reasons,
      decidedAt: r.decided_at,
    }));
  }

  consents(): SubjectAccessRecords['consents'] {
    const out: SubjectAccessRecords['consents'] = [];
    for (const place of this.places) {
      if (place.role === 'candidate') {
        const employer = this.plans.plan(place.sessionId)?.employer;
        if (employer) out.push({ kind: 'employer summary (recorded at booking)', sessionId: place.sessionId, detail: { employer: employer.name, consented: employer.consent }, at: null });
      }
      if (place.role === 'candidate' || place.role === 'actor') {
        // A calibration case of a scenario they were recorded in was made on their recorded consent.
        const cases = rows<{ id: string; scenario: number; created_at: string }>(
          this.deps.db,
          'SELECT id, scenario, created_at FROM calibration_cases WHERE session_id = ? ORDER BY scenario',
          place.sessionId,
        );
        const played = new Set(rows<{ number: number }>(this.deps.db, 'SELECT number FROM session_scenarios WHERE session_id = ? AND actor_participant_id = ?', place.sessionId, place.id).map((s) => s.number));
        for (const c of cases) {
          if (place.role === 'actor' && !played.has(c.scenario)) continue;
          out.push({ kind: 'recording used as an observer calibration case', sessionId: place.sessionId, detail: { caseId: c.id, scenario: c.scenario, consented: true }, at: c.created_at });
        }
      }
    }
    return out;
  }
}

/** "Lead observer", "Observer 1", "Observer 2" in booking order: candidates never learn who observed. */
function observerLabels(participants: Participant[]): (observerId: string) => string {
  const labels = new Map<string, string>();
  let n = 0;
  for (const p of participants) {
    if (p.role === 'leadObserver') labels.set(p.id, 'Lead observer');
    if (p.role === 'observer') labels.set(p.id, `Observer ${++n}`);
  }
  return (id) => labels.get(id) ?? 'Observer';
}

function section(facts: SessionFacts, name: RubricMap): Array<[string, unknown]> {
  return [...facts.rubric.getMap(name).entries()];
}

function globalsOf(facts: SessionFacts): Array<{ observerId: string; scenario: number; value: number }> {
  return section(facts, 'global').flatMap(([key, value]) => {
    const [observerId, scenario] = key.split('|');
    const n = Number(scenario);
    return observerId && Number.isInteger(n) && Number.isInteger(value) ? [{ observerId, scenario: n, value: value as number }] : [];
  });
}

function notesOf(facts: SessionFacts): Array<{ observerId: string; note: SubjectAccessNote }> {
  return section(facts, 'notes')
    .flatMap(([key, value]) => {
      const parsed = EvidenceNoteSchema.safeParse(value);
      if (!parsed.success) return [];
      const n = parsed.data;
      return [{ observerId: key.split('|')[0] ?? '', note: { scenario: n.scenario, atMs: n.atMs, domainId: n.domainId ?? null, text: n.text, createdAt: iso(n.createdAt)! } }];
    })
    .sort((a, b) => String(a.note.scenario).localeCompare(String(b.note.scenario)) || a.note.atMs - b.note.atMs);
}

function scoringOf(facts: SessionFacts, place: Participant): NonNullable<SubjectAccessSession['scoring']> {
  const scoring: NonNullable<SubjectAccessSession['scoring']> = {
    ratings: facts.rows
      .filter((r) => r.part !== 'written')
      .map((r) => ({ part: r.part, itemId: r.itemId, itemTitle: r.itemTitle, rating: r.observers.find((o) => o.observerId === place.id)?.rating ?? null })),
    globalJudgements: globalsOf(facts)
      .filter((g) => g.observerId === place.id)
      .map((g) => ({ scenario: g.scenario, value: g.value })),
    evidenceNotes: notesOf(facts)
      .filter((n) => n.observerId === place.id)
      .map((n) => n.note),
  };
  if (place.role === 'leadObserver') {
    scoring.agreed = facts.rows.flatMap((r) => (r.agreed ? [{ part: r.part as Part, itemId: r.itemId, rating: r.agreed.rating, rationale: r.agreed.rationale }] : []));
    scoring.feedback = overallFeedback(facts.rubric);
  }
  return scoring;
}
