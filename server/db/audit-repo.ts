// Append-only audit log: who did what, when (the table refuses updates and deletes).
// "Who" is stored as the acting person at the time of the action — participant id, name and
// role — so that the log names people from other sessions (moderators and coordinators work
// across sessions) and keeps naming them as they were then.
import type { Database } from './database.ts';

/** The acting person (structurally shared/moderation.ts's ActingPerson). */
export interface AuditActor {
  participantId: string;
  name: string;
  role: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  sessionId: string | null;
  actorParticipantId: string | null;
  /** Null for the server's own actions (timers, retention). */
  actor: AuditActor | null;
  action: string;
  detail: Record<string, unknown>;
}

interface AuditRow {
  id: number;
  at: string;
  session_id: string | null;
  actor_participant_id: string | null;
  actor_name: string | null;
  actor_role: string | null;
  action: string;
  detail: string;
}

export class AuditRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** `actor` names the acting person; with only `actorParticipantId` the name and role are
   *  read from that participant record as it is now. */
  append(entry: { sessionId?: string; actorParticipantId?: string; actor?: AuditActor; action: string; detail?: Record<string, unknown> }): void {
    const id = entry.actor?.participantId ?? entry.actorParticipantId ?? null;
    this.db
      .prepare(
        `INSERT INTO audit_log (at, session_id, actor_participant_id, actor_name, actor_role, action, detail)
         VALUES (?, ?, ?, COALESCE(?, (SELECT display_name FROM participants WHERE id = ?)), COALESCE(?, (SELECT role FROM participants WHERE id = ?)), ?, ?)`,
      )
      .run(
        new Date().toISOString(),
        entry.sessionId ?? null,
        id,
        entry.actor?.name ?? null,
        id,
        entry.actor?.role ?? null,
        id,
        entry.action,
        JSON.stringify(entry.detail ?? {}),
      );
  }

  list(sessionId: string): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM audit_log WHERE session_id = ? ORDER BY id').all(sessionId) as unknown as AuditRow[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      sessionId: r.session_id,
      actorParticipantId: r.actor_participant_id,
      actor:
        r.actor_participant_id !== null && r.actor_name !== null && r.actor_role !== null
          ? { participantId: r.actor_participant_id, name: r.actor_name, role: r.actor_role }
          : null,
      action: r.action,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
