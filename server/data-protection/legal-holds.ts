// Legal holds: while one is on a session nothing of it is deleted or pseudonymised, by retention
// or erasure. A result review open on a session holds it by itself (until it is decided); other
// holds are set and released by hand, with a reason.
import { randomUUID } from 'node:crypto';
import type { LegalHold } from '../../shared/data-protection.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { Database } from '../db/database.ts';

interface HoldRow {
  id: string;
  session_id: string;
  reason: string;
  set_by_person_id: string | null;
  set_at: string;
}

export class LegalHolds {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** Every session held now, in any organisation. */
  heldSessionIds(): Set<string> {
    const rows = this.db
      .prepare('SELECT session_id FROM legal_holds WHERE released_at IS NULL UNION SELECT session_id FROM result_reviews WHERE decided_at IS NULL')
      .all() as Array<{ session_id: string }>;
    return new Set(rows.map((r) => r.session_id));
  }

  /** The organisation's holds in force: set by hand, and open reviews. */
  list(organisationId: string): LegalHold[] {
    const manual = this.db
      .prepare('SELECT * FROM legal_holds WHERE organisation_id = ? AND released_at IS NULL ORDER BY set_at')
      .all(organisationId) as unknown as HoldRow[];
    const reviews = this.db
      .prepare(
        `SELECT r.id, r.session_id, r.opened_at FROM result_reviews r JOIN sessions s ON s.id = r.session_id
         WHERE s.organisation_id = ? AND r.decided_at IS NULL ORDER BY r.opened_at`,
      )
      .all(organisationId) as Array<{ id: string; session_id: string; opened_at: string }>;
    return [
      ...manual.map((r) => ({ id: r.id, sessionId: r.session_id, kind: 'manual' as const, reason: r.reason, setBy: r.set_by_person_id, setAt: r.set_at })),
      ...reviews.map((r) => ({ id: `review-${r.id}`, sessionId: r.session_id, kind: 'review' as const, reason: 'a result review is open', setBy: null, setAt: r.opened_at })),
    ];
  }

  set(organisationId: string, sessionId: string, reason: string, byPersonId: string | null): LegalHold {
    const session = this.db.prepare('SELECT organisation_id FROM sessions WHERE id = ?').get(sessionId) as { organisation_id: string | null } | undefined;
    if (!session || session.organisation_id !== organisationId) throw new ProtocolFailure('NOT_FOUND', 'no such session');
    const hold = { id: randomUUID(), sessionId, kind: 'manual' as const, reason, setBy: byPersonId, setAt: new Date().toISOString() };
    this.db
      .prepare('INSERT INTO legal_holds (id, organisation_id, session_id, reason, set_by_person_id, set_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(hold.id, organisationId, sessionId, reason, byPersonId, hold.setAt);
    return hold;
  }

  /** Releases a hold set by hand (a review's hold ends when the review is decided). */
  release(organisationId: string, id: string, reason: string, byPersonId: string | null): { sessionId: string } {
    const row = this.db.prepare('SELECT session_id, released_at FROM legal_holds WHERE id = ? AND organisation_id = ?').get(id, organisationId) as
      | { session_id: string; released_at: string | null }
      | undefined;
    if (!row) throw new ProtocolFailure('NOT_FOUND', 'no such hold');
    if (row.released_at) throw new ProtocolFailure('CONFLICT', 'this hold was already released');
    this.db.prepare('UPDATE legal_holds SET released_at = ?, released_by_person_id = ?, release_reason = ? WHERE id = ?').run(new Date().toISOString(), byPersonId, reason, id);
    return { sessionId: row.session_id };
  }
}
