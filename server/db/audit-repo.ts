// Append-only audit log: who did what, when (the table refuses updates and deletes), each row
// chained to the one before it by a hash (server/data-protection/audit-chain.ts).
// "Who" is stored as the acting person at the time of the action — participant id, name and
// role — so that the log names people from other sessions (moderators and coordinators work
// across sessions) and keeps naming them as they were then.
import { chainHead, newSalt, nextAuditId, personalDigest, rowHash, type ChainedColumns, type PersonalColumns } from '../data-protection/audit-chain.ts';
import { transaction, type Database } from './database.ts';

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
  /** Null for the server's own actions (timers, retention): then `job` names the job. */
  actor: AuditActor | null;
  job: string | null;
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
    /** A scheduled job acting by itself (the day timer, the recorder, retention): named, never "system". */
    job?: string;
    action: string;
    detail?: Record<string, unknown>;
  }): void {
    const id = entry.actor?.participantId ?? entry.actorParticipantId ?? null;
    const job = id === null && !entry.person ? (entry.job ?? `scheduled job (${entry.action})`) : null;
    const sessionId = entry.sessionId ?? null;
    // Reading the chain's head and appending are one transaction (BEGIN IMMEDIATE serialises
    // writers across connections), so no two rows ever chain from the same one.
    transaction(this.db, () => {
      const resolved = this.db
        .prepare(
          `SELECT COALESCE(?, (SELECT display_name FROM participants WHERE id = ?), (SELECT display_name FROM people WHERE id = ?)) AS actor_name,
                  COALESCE(?, (SELECT role FROM participants WHERE id = ?)) AS actor_role,
                  COALESCE(?, (SELECT person_id FROM participants WHERE id = ?), (SELECT id FROM people WHERE id = ?)) AS actor_person_id,
                  COALESCE(?, (SELECT organisation_id FROM sessions WHERE id = ?), (SELECT organisation_id FROM people WHERE id = ?),
                           (SELECT s.organisation_id FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.id = ?)) AS organisation_id`,
        )
        .get(
          entry.actor?.name ?? entry.person?.name ?? job,
          id,
          id,
          entry.actor?.role ?? entry.person?.role ?? (job ? 'job' : null),
          id,
          entry.person?.personId ?? null,
          id,
          id,
          entry.person?.organisationId ?? null,
          sessionId,
          id,
          id,
        ) as { actor_name: string | null; actor_role: string | null; actor_person_id: string | null; organisation_id: string | null };
      const row: ChainedColumns & PersonalColumns = {
        id: nextAuditId(this.db),
        at: new Date().toISOString(),
        session_id: sessionId,
        actor_participant_id: id,
        actor_role: resolved.actor_role,
        action: entry.action,
        actor_person_id: resolved.actor_person_id,
        organisation_id: resolved.organisation_id,
        actor_name: resolved.actor_name,
        detail: JSON.stringify(entry.detail ?? {}),
      };
      const salt = newSalt();
      const digest = personalDigest(salt, row);
      const previous = chainHead(this.db);
      this.db
        .prepare(
          `INSERT INTO audit_log (id, at, session_id, actor_participant_id, actor_name, actor_role, action, detail, actor_person_id, organisation_id,
                                  personal_salt, personal_digest, prev_hash, row_hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(row.id, row.at, row.session_id, row.actor_participant_id, row.actor_name, row.actor_role, row.action, row.detail, row.actor_person_id, row.organisation_id, salt, digest, previous, rowHash(previous, row, digest));
    });
  }

  /** The organisation's rows, newest first, optionally one action or one person only. */
  listForOrganisation(organisationId: string, filter: { action?: string; personId?: string; limit?: number } = {}): OrganisationAuditEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audit_log WHERE organisation_id = ? AND (CAST(? AS TEXT) IS NULL OR action = ?) AND (CAST(? AS TEXT) IS NULL OR actor_person_id = ?)
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
      job: r.actor_participant_id === null && r.actor_role === 'job' ? r.actor_name : null,
      action: r.action,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
