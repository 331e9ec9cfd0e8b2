// Server-side sign-in sessions for staff (issue 13): the browser holds a random secret in an
// HttpOnly cookie, the database its hash, the person, and when it ends. A session ends after
// `idleSeconds` without use, at `absoluteSeconds` after sign-in whatever happens, when its
// person signs it out (one or all), or when the person is removed.
import { randomUUID } from 'node:crypto';
import type { Person, SignInMethod, SignInSessionView } from '../../shared/people.ts';
import type { Database } from '../db/database.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import { hashSecret, newSecret, SECRET_PATTERN } from './secrets.ts';

export interface StaffSessionTimeouts {
  idleSeconds: number;
  absoluteSeconds: number;
}

interface StaffSessionRow {
  id: string;
  secret_hash: string;
  person_id: string;
  method: SignInMethod;
  user_agent: string;
  created_at: string;
  last_seen_at: string;
  absolute_expires_at: string;
  revoked_at: string | null;
}

/** last_seen_at is written at most this often per session (not on every request). */
const TOUCH_EVERY_MS = 60_000;

export type StaffAuth = { ok: true; person: Person; sessionId: string } | { ok: false; reason: 'missing' | 'expired' | 'invalid' };

export class StaffSessions {
  private readonly db: Database;
  private readonly people: PeopleRepo;
  private readonly timeouts: StaffSessionTimeouts;
  private readonly now: () => number;

  constructor(deps: { db: Database; people: PeopleRepo; timeouts: StaffSessionTimeouts; now?: () => number }) {
    this.db = deps.db;
    this.people = deps.people;
    this.timeouts = deps.timeouts;
    this.now = deps.now ?? Date.now;
  }

  /** Starts a session for the person; returns the cookie's secret and how long it may live. */
  create(personId: string, method: SignInMethod, userAgent: string): { id: string; secret: string; maxAgeSeconds: number } {
    const secret = newSecret();
    const id = randomUUID();
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO staff_sessions (id, secret_hash, person_id, method, user_agent, created_at, last_seen_at, absolute_expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, hashSecret(secret), personId, method, userAgent.slice(0, 300), iso(now), iso(now), iso(now + this.timeouts.absoluteSeconds * 1000));
    return { id, secret, maxAgeSeconds: this.timeouts.absoluteSeconds };
  }

  /** Who holds this cookie secret, if the session is still open. */
  verify(secret: string | undefined): StaffAuth {
    if (!secret) return { ok: false, reason: 'missing' };
    if (!SECRET_PATTERN.test(secret)) return { ok: false, reason: 'invalid' };
    const row = this.db.prepare('SELECT * FROM staff_sessions WHERE secret_hash = ?').get(hashSecret(secret)) as StaffSessionRow | undefined;
    if (!row || row.revoked_at) return { ok: false, reason: 'invalid' };
    const now = this.now();
    const lastSeen = Date.parse(row.last_seen_at);
    if (now >= Date.parse(row.absolute_expires_at) || now - lastSeen >= this.timeouts.idleSeconds * 1000) return { ok: false, reason: 'expired' };
    const person = this.people.get(row.person_id);
    if (!person || person.removedAt) return { ok: false, reason: 'invalid' };
    if (now - lastSeen >= TOUCH_EVERY_MS) this.db.prepare('UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?').run(iso(now), row.id);
    return { ok: true, person, sessionId: row.id };
  }

  /** The person's open sessions, newest first. */
  list(personId: string, currentId?: string): SignInSessionView[] {
    const now = this.now();
    const rows = this.db
      .prepare('SELECT * FROM staff_sessions WHERE person_id = ? AND revoked_at IS NULL ORDER BY created_at DESC')
      .all(personId) as unknown as StaffSessionRow[];
    return rows
      .filter((r) => now < Date.parse(r.absolute_expires_at) && now - Date.parse(r.last_seen_at) < this.timeouts.idleSeconds * 1000)
      .map((r) => ({
        id: r.id,
        method: r.method,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        expiresAt: iso(Math.min(Date.parse(r.absolute_expires_at), Date.parse(r.last_seen_at) + this.timeouts.idleSeconds * 1000)),
        userAgent: r.user_agent,
        current: r.id === currentId,
      }));
  }

  /** Ends one of the person's sessions; false when it is not theirs or already ended. */
  revoke(personId: string, sessionId: string): boolean {
    const result = this.db
      .prepare('UPDATE staff_sessions SET revoked_at = ? WHERE id = ? AND person_id = ? AND revoked_at IS NULL')
      .run(iso(this.now()), sessionId, personId);
    return Number(result.changes) === 1;
  }

  /** Ends every session of the person ("sign out everywhere", removal); returns how many. */
  revokeAll(personId: string): number {
    const result = this.db.prepare('UPDATE staff_sessions SET revoked_at = ? WHERE person_id = ? AND revoked_at IS NULL').run(iso(this.now()), personId);
    return Number(result.changes);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
