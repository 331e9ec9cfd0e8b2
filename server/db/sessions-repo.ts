// Sessions and the participants invited to them.
import { randomUUID } from 'node:crypto';
import type { NewSession, Participant, Session, Level } from '../../shared/domain.ts';
import type { Role } from '../../shared/roles.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { OrgRole } from '../../shared/people.ts';
import { PeopleRepo } from '../people/people-repo.ts';
import { transaction, type Database } from './database.ts';

interface SessionRow {
  id: string;
  title: string;
  level: Level;
  created_at: string;
}
interface ParticipantRow {
  id: string;
  session_id: string;
  role: Role;
  display_name: string;
  created_at: string;
  person_id: string | null;
}

const toSession = (r: SessionRow): Session => ({ id: r.id, title: r.title, level: r.level, createdAt: r.created_at });
const toParticipant = (r: ParticipantRow): Participant => ({
  id: r.id,
  sessionId: r.session_id,
  role: r.role,
  displayName: r.display_name,
  createdAt: r.created_at,
  ...(r.person_id ? { personId: r.person_id } : {}),
});

/** What ends a participant's place: swapped out, or the session cancelled or closed as a no-show. */
export interface PlaceEndings {
  replaced_at: string | null;
  cancelled_at: string | null;
  no_show_at: string | null;
}

export function placeHasEnded(row: PlaceEndings): boolean {
  return Boolean(row.replaced_at || row.cancelled_at || row.no_show_at);
}

export class SessionsRepo {
  private readonly db: Database;
  private readonly people: PeopleRepo;

  constructor(db: Database) {
    this.db = db;
    this.people = new PeopleRepo(db);
  }

  /** Books the session in its organisation. Each participant is a person's place in it: the
   *  named person (who must be of that organisation and hold the role), the organisation's
   *  candidate with the same reference, or else a new person. */
  create(input: NewSession): { session: Session; participants: Participant[] } {
    const now = new Date().toISOString();
    const session: Session = { id: randomUUID(), title: input.title, level: input.level, createdAt: now };
    return transaction(this.db, () => {
      const organisationId = input.organisationId ?? this.defaultOrganisation();
      const participants = input.participants.map((p): Participant => {
        const person = this.personFor(organisationId, p);
        // A named person is shown as they are known; otherwise as booked (a candidate found by
        // reference keeps the name this booking gives).
        const displayName = p.personId ? person.displayName : p.displayName;
        return { id: randomUUID(), sessionId: session.id, role: p.role, displayName, createdAt: now, personId: person.id };
      });
      this.db
        .prepare('INSERT INTO sessions (id, title, level, created_at, organisation_id) VALUES (?, ?, ?, ?, ?)')
        .run(session.id, session.title, session.level, now, organisationId);
      const insert = this.db.prepare(
        'INSERT INTO participants (id, session_id, role, display_name, created_at, person_id) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const p of participants) insert.run(p.id, p.sessionId, p.role, p.displayName, now, p.personId ?? null);
      return { session, participants };
    });
  }

  private personFor(organisationId: string, p: NewSession['participants'][number]): { id: string; displayName: string } {
    const role = p.role as OrgRole;
    if (p.personId) {
      const person = this.people.get(p.personId);
      if (!person || person.organisationId !== organisationId || person.removedAt) throw new ProtocolFailure('NOT_FOUND', `no such person in this organisation (${p.displayName})`);
      if (!person.roles.includes(role)) throw new ProtocolFailure('INVALID_PAYLOAD', `${person.displayName} does not hold the ${role} role in this organisation`);
      return person;
    }
    if (role === 'candidate' && p.candidateRef) {
      const known = this.people.candidateByRef(organisationId, p.candidateRef);
      if (known) return known;
    }
    return this.people.create(organisationId, { displayName: p.displayName, roles: [role], ...(role === 'candidate' && p.candidateRef ? { candidateRef: p.candidateRef } : {}) });
  }

  /** The organisation sessions go to when none is named: the first, made on first need. */
  defaultOrganisation(): string {
    return this.people.organisations()[0]?.id ?? this.people.createOrganisation('SimStudio').id;
  }

  /** The organisation a session belongs to. */
  organisationOf(sessionId: string): string | undefined {
    const row = this.db.prepare('SELECT organisation_id FROM sessions WHERE id = ?').get(sessionId) as { organisation_id: string | null } | undefined;
    return row?.organisation_id ?? undefined;
  }

  /** The participants that are this person's places in sessions, newest session first. */
  participantsOfPerson(personId: string): Participant[] {
    const rows = this.db
      .prepare('SELECT p.* FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.person_id = ? AND p.replaced_at IS NULL ORDER BY s.created_at DESC, p.rowid')
      .all(personId) as unknown as ParticipantRow[];
    return rows.map(toParticipant);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;
  }

  getSession(id: string): Session | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  getParticipant(id: string): Participant | undefined {
    const row = this.db.prepare('SELECT * FROM participants WHERE id = ?').get(id) as ParticipantRow | undefined;
    return row && toParticipant(row);
  }

  /** The session's people now (a place whose person was swapped out is no longer one). */
  listParticipants(sessionId: string): Participant[] {
    const rows = this.db
      .prepare('SELECT * FROM participants WHERE session_id = ? AND replaced_at IS NULL ORDER BY created_at, rowid')
      .all(sessionId) as unknown as ParticipantRow[];
    return rows.map(toParticipant);
  }

  /** The places swapped out of the session, for its history. */
  listReplaced(sessionId: string): Participant[] {
    const rows = this.db
      .prepare('SELECT * FROM participants WHERE session_id = ? AND replaced_at IS NOT NULL ORDER BY replaced_at, rowid')
      .all(sessionId) as unknown as ParticipantRow[];
    return rows.map(toParticipant);
  }

  /** Whether this place no longer admits anyone: its person was swapped out, or its session
   *  was cancelled or closed as a no-show (issue 15). */
  placeEnded(participantId: string): boolean {
    const row = this.db
      .prepare('SELECT p.replaced_at, s.cancelled_at, s.no_show_at FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.id = ?')
      .get(participantId) as PlaceEndings | undefined;
    return row !== undefined && placeHasEnded(row);
  }

  /** A new place in an existing session, for the named person (as at booking). */
  addParticipant(sessionId: string, place: NewSession['participants'][number]): Participant {
    const organisationId = this.organisationOf(sessionId) ?? this.defaultOrganisation();
    const person = this.personFor(organisationId, place);
    const now = new Date().toISOString();
    const participant: Participant = {
      id: randomUUID(),
      sessionId,
      role: place.role,
      displayName: place.personId ? person.displayName : place.displayName,
      createdAt: now,
      personId: person.id,
    };
    this.db
      .prepare('INSERT INTO participants (id, session_id, role, display_name, created_at, person_id) VALUES (?, ?, ?, ?, ?, ?)')
      .run(participant.id, sessionId, participant.role, participant.displayName, now, person.id);
    return participant;
  }

  markReplaced(participantId: string): void {
    this.db.prepare('UPDATE participants SET replaced_at = ? WHERE id = ? AND replaced_at IS NULL').run(new Date().toISOString(), participantId);
  }

  /** Cancellation and no-show of a session (null when neither). */
  closure(sessionId: string): { cancelledAt: string | null; cancelReason: string | null; noShowAt: string | null } {
    const row = this.db.prepare('SELECT cancelled_at, cancel_reason, no_show_at FROM sessions WHERE id = ?').get(sessionId) as
      | { cancelled_at: string | null; cancel_reason: string | null; no_show_at: string | null }
      | undefined;
    return { cancelledAt: row?.cancelled_at ?? null, cancelReason: row?.cancel_reason ?? null, noShowAt: row?.no_show_at ?? null };
  }

  markCancelled(sessionId: string, reason: string): void {
    this.db.prepare('UPDATE sessions SET cancelled_at = ?, cancel_reason = ? WHERE id = ? AND cancelled_at IS NULL').run(new Date().toISOString(), reason, sessionId);
  }

  markNoShow(sessionId: string): void {
    this.db.prepare('UPDATE sessions SET no_show_at = ? WHERE id = ? AND no_show_at IS NULL').run(new Date().toISOString(), sessionId);
  }

  /** Every session, newest first; with `organisationId` only that organisation's. */
  listSessions(organisationId?: string): Session[] {
    const rows = (
      organisationId === undefined
        ? this.db.prepare('SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC').all()
        : this.db.prepare('SELECT * FROM sessions WHERE organisation_id = ? ORDER BY created_at DESC, rowid DESC').all(organisationId)
    ) as unknown as SessionRow[];
    return rows.map(toSession);
  }

  /** The oldest session, used as the demo session on `npm start`. */
  firstSession(): Session | undefined {
    const row = this.db.prepare('SELECT * FROM sessions ORDER BY created_at, rowid LIMIT 1').get() as
      | SessionRow
      | undefined;
    return row && toSession(row);
  }
}
