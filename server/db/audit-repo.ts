// Append-only audit log: who did what, when (the table refuses updates and deletes).
import type { Database } from './database.ts';

export interface AuditEntry {
  id: number;
  at: string;
  sessionId: string | null;
  actorParticipantId: string | null;
  action: string;
  detail: Record<string, unknown>;
}

export class AuditRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  append(entry: { sessionId?: string; actorParticipantId?: string; action: string; detail?: Record<string, unknown> }): void {
    this.db
      .prepare('INSERT INTO audit_log (at, session_id, actor_participant_id, action, detail) VALUES (?, ?, ?, ?, ?)')
      .run(
        new Date().toISOString(),
        entry.sessionId ?? null,
        entry.actorParticipantId ?? null,
        entry.action,
        JSON.stringify(entry.detail ?? {}),
      );
  }

  list(sessionId: string): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit_log WHERE session_id = ? ORDER BY id')
      .all(sessionId) as Array<{
      id: number;
      at: string;
      session_id: string | null;
      actor_participant_id: string | null;
      action: string;
      detail: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      sessionId: r.session_id,
      actorParticipantId: r.actor_participant_id,
      action: r.action,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
