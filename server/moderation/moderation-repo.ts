// Stored moderation state: the result's lifecycle row, the moderator's marks, independent
// reviews and the organisation's settings. The tables' triggers refuse changes to a
// signed-off result and edits of review records (see the migration in db/database.ts).
import { randomUUID } from 'node:crypto';
import type { Element, Outcome, Part } from '../../shared/moderation.ts';
import type { Database } from '../db/database.ts';

export type ResultStatus = 'moderating' | 'signedOff' | 'underReview';

export interface ResultRow {
  sessionId: string;
  status: ResultStatus;
  startedAt: string;
  signedOffAt: string | null;
  signedOffBy: string | null;
  outcome: Partial<Record<Element, Outcome>> | null;
}

export interface StoredMark {
  part: Part;
  itemId: string;
  rating: number;
  rationale: string;
  byParticipantId: string;
  at: string;
}

export interface StoredReview {
  id: string;
  sessionId: string;
  /** The named reviewer's participant record (null only for reviews recorded before it was required). */
  reviewerParticipantId: string | null;
  reviewerName: string;
  reviewerRole: string;
  reasons: string;
  openedBy: string;
  openedAt: string;
  decision: Partial<Record<Element, Outcome>> | null;
  decisionReasons: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
}

const toPart = (text: string): Part => (text === 'reflective' || text === 'written' ? text : (Number(text) as Part));

/**
 * How long a session's status read from the database is trusted. This process's own changes
 * drop it at once; another studio node's (moderation begun, signed off or reviewed through a node
 * other than the one holding the session's documents) reach this one within this long.
 */
export const STATUS_TRUSTED_MS = 1_000;

export class ModerationRepo {
  private readonly db: Database;
  /** Each session's result status (null: not in moderation), as committed, and when it was
   *  read: asked on every rubric edit (twice), so not read from the database each time. */
  private readonly statuses = new Map<string, { status: ResultStatus | null; readAt: number }>();

  constructor(db: Database) {
    this.db = db;
  }

  /** The result's status, without reading the whole row. */
  status(sessionId: string): ResultStatus | null {
    const known = this.statuses.get(sessionId);
    if (known && Date.now() - known.readAt < STATUS_TRUSTED_MS) return known.status;
    const row = this.db.prepare('SELECT status FROM moderation_results WHERE session_id = ?').get(sessionId) as { status: ResultStatus } | undefined;
    const status = row?.status ?? null;
    // Inside a transaction the row may yet be rolled back: only committed states are kept.
    if (!this.db.isTransaction) this.statuses.set(sessionId, { status, readAt: Date.now() });
    return status;
  }

  result(sessionId: string): ResultRow | undefined {
    const row = this.db.prepare('SELECT * FROM moderation_results WHERE session_id = ?').get(sessionId) as
      | { session_id: string; status: ResultStatus; started_at: string; signed_off_at: string | null; signed_off_by: string | null; outcome: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      sessionId: row.session_id,
      status: row.status,
      startedAt: row.started_at,
      signedOffAt: row.signed_off_at,
      signedOffBy: row.signed_off_by,
      outcome: row.outcome === null ? null : (JSON.parse(row.outcome) as ResultRow['outcome']),
    };
  }

  /** Marks the start of moderation (from then on the observers' rubric is frozen). Returns true when it started now. */
  startModeration(sessionId: string, at: string): boolean {
    this.statuses.delete(sessionId);
    const result = this.db.prepare(`INSERT INTO moderation_results (session_id, status, started_at) VALUES (?, 'moderating', ?) ON CONFLICT DO NOTHING`).run(sessionId, at);
    return result.changes === 1;
  }

  signOff(sessionId: string, by: string, at: string, outcome: Partial<Record<Element, Outcome>>, evidence: unknown): void {
    this.statuses.delete(sessionId);
    this.db
      .prepare(`UPDATE moderation_results SET status = 'signedOff', signed_off_at = ?, signed_off_by = ?, outcome = ?, evidence = ? WHERE session_id = ?`)
      .run(at, by, JSON.stringify(outcome), JSON.stringify(evidence), sessionId);
  }

  setStatus(sessionId: string, status: ResultStatus, outcome?: Partial<Record<Element, Outcome>>): void {
    this.statuses.delete(sessionId);
    if (outcome) {
      this.db.prepare('UPDATE moderation_results SET status = ?, outcome = ? WHERE session_id = ?').run(status, JSON.stringify(outcome), sessionId);
    } else {
      this.db.prepare('UPDATE moderation_results SET status = ? WHERE session_id = ?').run(status, sessionId);
    }
  }

  marks(sessionId: string): StoredMark[] {
    const rows = this.db.prepare('SELECT * FROM moderated_marks WHERE session_id = ?').all(sessionId) as Array<{
      part: string;
      item_id: string;
      rating: number;
      rationale: string;
      by_participant_id: string;
      at: string;
    }>;
    return rows.map((r) => ({ part: toPart(r.part), itemId: r.item_id, rating: r.rating, rationale: r.rationale, byParticipantId: r.by_participant_id, at: r.at }));
  }

  saveMark(sessionId: string, mark: StoredMark): void {
    this.db
      .prepare(
        `INSERT INTO moderated_marks (session_id, part, item_id, rating, rationale, by_participant_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (session_id, part, item_id) DO UPDATE SET rating = excluded.rating, rationale = excluded.rationale,
           by_participant_id = excluded.by_participant_id, at = excluded.at`,
      )
      .run(sessionId, String(mark.part), mark.itemId, mark.rating, mark.rationale, mark.byParticipantId, mark.at);
  }

  reviews(sessionId: string): StoredReview[] {
    const rows = this.db.prepare('SELECT * FROM result_reviews WHERE session_id = ? ORDER BY opened_at, rowid').all(sessionId) as Array<{
      id: string;
      session_id: string;
      reviewer_participant_id: string | null;
      reviewer_name: string;
      reviewer_role: string;
      reasons: string;
      opened_by: string;
      opened_at: string;
      decision: string | null;
      decision_reasons: string | null;
      decided_by: string | null;
      decided_at: string | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      sessionId: r.session_id,
      reviewerParticipantId: r.reviewer_participant_id,
      reviewerName: r.reviewer_name,
      reviewerRole: r.reviewer_role,
      reasons: r.reasons,
      openedBy: r.opened_by,
      openedAt: r.opened_at,
      decision: r.decision === null ? null : (JSON.parse(r.decision) as StoredReview['decision']),
      decisionReasons: r.decision_reasons,
      decidedBy: r.decided_by,
      decidedAt: r.decided_at,
    }));
  }

  openReview(review: Omit<StoredReview, 'id' | 'decision' | 'decisionReasons' | 'decidedBy' | 'decidedAt'>): string {
    const id = randomUUID();
    this.db
      .prepare(
        'INSERT INTO result_reviews (id, session_id, reviewer_participant_id, reviewer_name, reviewer_role, reasons, opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, review.sessionId, review.reviewerParticipantId, review.reviewerName, review.reviewerRole, review.reasons, review.openedBy, review.openedAt);
    return id;
  }

  decideReview(id: string, decision: Partial<Record<Element, Outcome>>, reasons: string, by: string, at: string): void {
    this.db
      .prepare('UPDATE result_reviews SET decision = ?, decision_reasons = ?, decided_by = ?, decided_at = ? WHERE id = ?')
      .run(JSON.stringify(decision), reasons, by, at, id);
  }

  /** Moderator places in sessions, of one organisation when given. */
  moderators(organisationId?: string): Array<{ participantId: string; name: string; sessionTitle: string }> {
    const rows = this.db
      .prepare(
        `SELECT p.id, p.display_name, s.title FROM participants p JOIN sessions s ON s.id = p.session_id
         WHERE p.role = 'moderator' AND (CAST(?1 AS TEXT) IS NULL OR s.organisation_id = ?1) ORDER BY lower(p.display_name), s.created_at DESC, p.rowid`,
      )
      .all(organisationId ?? null) as Array<{ id: string; display_name: string; title: string }>;
    return rows.map((r) => ({ participantId: r.id, name: r.display_name, sessionTitle: r.title }));
  }

  /** Who changed or confirmed this session's marks, ever (from the audit log: the marks table keeps only the last). */
  markersOf(sessionId: string): string[] {
    const rows = this.db
      .prepare(`SELECT DISTINCT actor_participant_id AS id FROM audit_log WHERE session_id = ? AND action IN ('moderation.mark_changed', 'moderation.mark_confirmed') AND actor_participant_id IS NOT NULL`)
      .all(sessionId) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  setting<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  saveSetting(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
      .run(key, JSON.stringify(value), new Date().toISOString());
  }
}
