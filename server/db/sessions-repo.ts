// Sessions and the participants invited to them.
import { randomUUID } from 'node:crypto';
import type { NewSession, Participant, Session, Level } from '../../shared/domain.ts';
import type { Role } from '../../shared/roles.ts';
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
}

const toSession = (r: SessionRow): Session => ({ id: r.id, title: r.title, level: r.level, createdAt: r.created_at });
const toParticipant = (r: ParticipantRow): Participant => ({
  id: r.id,
  sessionId: r.session_id,
  role: r.role,
  displayName: r.display_name,
  createdAt: r.created_at,
});

export class SessionsRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  create(input: NewSession): { session: Session; participants: Participant[] } {
    const now = new Date().toISOString();
    const session: Session = { id: randomUUID(), title: input.title, level: input.level, createdAt: now };
    const participants = input.participants.map(
      (p): Participant => ({ id: randomUUID(), sessionId: session.id, role: p.role, displayName: p.displayName, createdAt: now }),
    );
    transaction(this.db, () => {
      this.db
        .prepare('INSERT INTO sessions (id, title, level, created_at) VALUES (?, ?, ?, ?)')
        .run(session.id, session.title, session.level, now);
      const insert = this.db.prepare(
        'INSERT INTO participants (id, session_id, role, display_name, created_at) VALUES (?, ?, ?, ?, ?)',
      );
      for (const p of participants) insert.run(p.id, p.sessionId, p.role, p.displayName, now);
    });
    return { session, participants };
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

  listParticipants(sessionId: string): Participant[] {
    const rows = this.db
      .prepare('SELECT * FROM participants WHERE session_id = ? ORDER BY created_at, rowid')
      .all(sessionId) as unknown as ParticipantRow[];
    return rows.map(toParticipant);
  }

  listSessions(): Session[] {
    const rows = this.db.prepare('SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC').all() as unknown as SessionRow[];
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
