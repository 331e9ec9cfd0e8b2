// Stored calibration cases and attempts (server/db/database.ts: both are written once, never
// changed). Observers are known by their normalised display name until people accounts exist.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CalibrationRatingRow } from '../../shared/calibration.ts';
import { LevelSchema, type Level } from '../../shared/domain.ts';
import type { Database } from '../db/database.ts';
import { normalised } from '../moderation/acting-person.ts';

const MarksSchema = z.record(z.string(), z.number().int().min(1).max(4));

export interface StoredCase {
  id: string;
  sessionId: string;
  scenario: number;
  title: string;
  level: Level;
  /** Domain id → reference mark, in the order the domains are scored. */
  reference: Record<string, number>;
  createdByParticipantId: string;
  createdByName: string;
  createdAt: string;
}

export interface StoredAttempt {
  caseId: string;
  observerName: string;
  participantId: string;
  ratings: Record<string, number>;
  global: number;
  passed: boolean;
  submittedAt: string;
}

interface CaseRow {
  id: string;
  session_id: string;
  scenario: number;
  title: string;
  level: string;
  reference: string;
  created_by_participant_id: string;
  created_by_name: string;
  created_at: string;
}

interface AttemptRow {
  case_id: string;
  observer_name: string;
  participant_id: string;
  ratings: string;
  global: number;
  passed: number;
  submitted_at: string;
}

const caseOf = (r: CaseRow): StoredCase => ({
  id: r.id,
  sessionId: r.session_id,
  scenario: r.scenario,
  title: r.title,
  level: LevelSchema.parse(r.level),
  reference: MarksSchema.parse(JSON.parse(r.reference)),
  createdByParticipantId: r.created_by_participant_id,
  createdByName: r.created_by_name,
  createdAt: r.created_at,
});

const attemptOf = (r: AttemptRow): StoredAttempt => ({
  caseId: r.case_id,
  observerName: r.observer_name,
  participantId: r.participant_id,
  ratings: MarksSchema.parse(JSON.parse(r.ratings)),
  global: r.global,
  passed: r.passed === 1,
  submittedAt: r.submitted_at,
});

export class CalibrationRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  createCase(input: Omit<StoredCase, 'id' | 'createdAt'>, now: Date): StoredCase {
    const id = randomUUID();
    const createdAt = now.toISOString();
    this.db
      .prepare(
        `INSERT INTO calibration_cases (id, session_id, scenario, title, level, reference, consent_candidate, consent_actor, created_by_participant_id, created_by_name, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?)`,
      )
      .run(id, input.sessionId, input.scenario, input.title, input.level, JSON.stringify(input.reference), input.createdByParticipantId, input.createdByName, createdAt);
    return { ...input, id, createdAt };
  }

  getCase(id: string): StoredCase | undefined {
    const row = this.db.prepare('SELECT * FROM calibration_cases WHERE id = ?').get(id) as CaseRow | undefined;
    return row ? caseOf(row) : undefined;
  }

  caseFor(sessionId: string, scenario: number): StoredCase | undefined {
    const row = this.db.prepare('SELECT * FROM calibration_cases WHERE session_id = ? AND scenario = ?').get(sessionId, scenario) as CaseRow | undefined;
    return row ? caseOf(row) : undefined;
  }

  cases(): StoredCase[] {
    return (this.db.prepare('SELECT * FROM calibration_cases ORDER BY created_at, id').all() as unknown as CaseRow[]).map(caseOf);
  }

  /** Stores an attempt; false when this observer (by name) has already submitted one. */
  saveAttempt(attempt: StoredAttempt): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO calibration_attempts (case_id, observer_key, observer_name, participant_id, ratings, global, passed, submitted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, observer_key) DO NOTHING`,
      )
      .run(attempt.caseId, normalised(attempt.observerName), attempt.observerName, attempt.participantId, JSON.stringify(attempt.ratings), attempt.global, attempt.passed ? 1 : 0, attempt.submittedAt);
    return Number(result.changes) === 1;
  }

  attempt(caseId: string, observerName: string): StoredAttempt | undefined {
    const row = this.db.prepare('SELECT * FROM calibration_attempts WHERE case_id = ? AND observer_key = ?').get(caseId, normalised(observerName)) as AttemptRow | undefined;
    return row ? attemptOf(row) : undefined;
  }

  attempts(caseId?: string): StoredAttempt[] {
    const rows = (caseId === undefined
      ? this.db.prepare('SELECT * FROM calibration_attempts ORDER BY submitted_at').all()
      : this.db.prepare('SELECT * FROM calibration_attempts WHERE case_id = ? ORDER BY submitted_at').all(caseId)) as unknown as AttemptRow[];
    return rows.map(attemptOf);
  }

  /** The attempts on cases made of one organisation's sessions. */
  attemptsInOrganisation(organisationId: string): StoredAttempt[] {
    const rows = this.db
      .prepare(
        `SELECT a.* FROM calibration_attempts a JOIN calibration_cases c ON c.id = a.case_id JOIN sessions s ON s.id = c.session_id
         WHERE s.organisation_id = ? ORDER BY a.submitted_at`,
      )
      .all(organisationId) as unknown as AttemptRow[];
    return rows.map(attemptOf);
  }

  /** Whether this observer (by name) has passed any calibration case (of the organisation's
   *  sessions, when one is named: a name in one organisation is not a person in another). */
  hasPassed(observerName: string, organisationId?: string): boolean {
    if (organisationId === undefined) {
      return this.db.prepare('SELECT 1 FROM calibration_attempts WHERE observer_key = ? AND passed = 1 LIMIT 1').get(normalised(observerName)) !== undefined;
    }
    return (
      this.db
        .prepare(
          `SELECT 1 FROM calibration_attempts a JOIN calibration_cases c ON c.id = a.case_id JOIN sessions s ON s.id = c.session_id
           WHERE a.observer_key = ? AND a.passed = 1 AND s.organisation_id = ? LIMIT 1`,
        )
        .get(normalised(observerName), organisationId) !== undefined
    );
  }
}

/** Every stored calibration rating (of attempts submitted within the range, on the organisation's
 *  cases when one is named), shaped like the cohort's ratings (candidate, rater, item, score) so
 *  observer stringency can include calibration. */
export function calibrationRatings(db: Database, range: { from?: number; to?: number; organisationId?: string | undefined } = {}): CalibrationRatingRow[] {
  const from = range.from ?? -Infinity;
  const to = range.to ?? Infinity;
  const submittedIn = (a: { submittedAt: string }): boolean => {
    const at = Date.parse(a.submittedAt);
    return at >= from && at < to;
  };
  const repo = new CalibrationRepo(db);
  const attempts = range.organisationId === undefined ? repo.attempts() : repo.attemptsInOrganisation(range.organisationId);
  return attempts.filter(submittedIn).flatMap((a) =>
    Object.entries(a.ratings).map(([item, score]) => ({ candidate: `calibration:${a.caseId}`, rater: a.observerName, item, score })),
  );
}
