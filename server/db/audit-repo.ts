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

/** A person acting outside any session (sign-in, people, organisation settings), or a
 *  scheduled job (personId null, name the job's). */
export interface AuditPerson {
  personId: string | null;
  name: string;
  role: string;
  organisationId: string | null;
}

export interface OrganisationAuditEntry {
  id: number;
  at: string;
  sessionId: string | null;
  personId: string | null;
  name: string | null;
  role: string | null;
  action: string;
  detail: Record<string, unknown>;
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
   *  read from that participant record as it is now (a staff desk's id is the person's own). The person and organisation come from
   *  the participant and the session when not given (`person`: staff acting outside a session). */
  append(entry: {
    sessionId?: string;
    actorParticipantId?: string;
    actor?: AuditActor;
    person?: AuditPerson;
    action: string;
    detail?: Record<string, unknown>;
  }): void {
    const id = entry.actor?.participantId ?? entry.actorParticipantId ?? null;
    const sessionId = entry.sessionId ?? null;
    this.db
      .prepare(
        `INSERT INTO audit_log (at, session_id, actor_participant_id, actor_name, actor_role, action, detail, actor_person_id, organisation_id)
         VALUES (?, ?, ?, COALESCE(?, (SELECT display_name FROM participants WHERE id = ?), (SELECT display_name FROM people WHERE id = ?)),
                 COALESCE(?, (SELECT role FROM participants WHERE id = ?)), ?, ?,
                 COALESCE(?, (SELECT person_id FROM participants WHERE id = ?), (SELECT id FROM people WHERE id = ?)),
                 COALESCE(?, (SELECT organisation_id FROM sessions WHERE id = ?), (SELECT organisation_id FROM people WHERE id = ?),
                          (SELECT s.organisation_id FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.id = ?)))`,
      )
      .run(
        new Date().toISOString(),
        sessionId,
        id,
        entry.actor?.name ?? entry.person?.name ?? null,
        id,
        id,
        entry.actor?.role ?? entry.person?.role ?? null,
        id,
        entry.action,
        JSON.stringify(entry.detail ?? {}),
        entry.person?.personId ?? null,
        id,
        id,
        entry.person?.organisationId ?? null,
        sessionId,
        id,
        id,
      );
  }

  /** The organisation's rows, newest first, optionally one action or one person only. */
  listForOrganisation(organisationId: string, filter: { action?: string; personId?: string; limit?: number } = {}): OrganisationAuditEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audit_log WHERE organisation_id = ? AND (? IS NULL OR action = ?) AND (? IS NULL OR actor_person_id = ?)
         ORDER BY id DESC LIMIT ?`,
      )
      .all(organisationId, filter.action ?? null, filter.action ?? null, filter.personId ?? null, filter.personId ?? null, filter.limit ?? 1000) as unknown as Array<
      AuditRow & { actor_person_id: string | null }
    >;
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      sessionId: r.session_id,
      personId: r.actor_person_id,
      name: r.actor_name,
      role: r.actor_role,
      action: r.action,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
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
