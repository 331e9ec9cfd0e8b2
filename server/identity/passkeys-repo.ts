// Where passkeys keep their state (issue 13): each person's WebAuthn credentials, and the
// challenges of ceremonies in progress, each taken (deleted) by the one response that uses it.
import type { PasskeyView } from '../../shared/passkeys.ts';
import type { Database } from '../db/database.ts';

export interface StoredPasskey {
  id: string;
  personId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

interface CredentialRow {
  id: string;
  person_id: string;
  public_key: Uint8Array;
  counter: number;
  transports: string;
  created_at: string;
  last_used_at: string | null;
}

export type ChallengePurpose = 'register' | 'authenticate';

/** Whose ceremony a challenge belongs to: registration is one person in one sign-in. */
export interface ChallengeOwner {
  personId: string;
  staffSessionId: string;
}

/** Sign-in challenges anyone may ask for are capped, so asking cannot fill the database. */
const MAX_OPEN_SIGN_IN_CHALLENGES = 10_000;

export class PasskeyRepo {
  private readonly db: Database;
  private readonly now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
  }

  /** Keeps a challenge until `ttlMs` from now; false when too many sign-ins are open at once. */
  issueChallenge(challenge: string, purpose: ChallengePurpose, ttlMs: number, owner?: ChallengeOwner): boolean {
    const now = this.now();
    this.db.prepare('DELETE FROM passkey_challenges WHERE expires_at <= ?').run(iso(now));
    if (purpose === 'authenticate') {
      const open = this.db.prepare("SELECT COUNT(*) AS n FROM passkey_challenges WHERE purpose = 'authenticate'").get() as { n: number };
      if (open.n >= MAX_OPEN_SIGN_IN_CHALLENGES) return false;
    }
    this.db
      .prepare('INSERT INTO passkey_challenges (challenge, purpose, person_id, staff_session_id, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(challenge, purpose, owner?.personId ?? null, owner?.staffSessionId ?? null, iso(now + ttlMs));
    return true;
  }

  /** Removes the challenge and says whether it was a live one of this purpose (and owner). */
  takeChallenge(challenge: string, purpose: ChallengePurpose, owner?: ChallengeOwner): boolean {
    const row = this.db.prepare('DELETE FROM passkey_challenges WHERE challenge = ? RETURNING purpose, person_id, staff_session_id, expires_at').get(challenge) as
      | { purpose: string; person_id: string | null; staff_session_id: string | null; expires_at: string }
      | undefined;
    if (!row || row.purpose !== purpose || Date.parse(row.expires_at) <= this.now()) return false;
    return owner ? row.person_id === owner.personId && row.staff_session_id === owner.staffSessionId : row.person_id === null;
  }

  add(passkey: Omit<StoredPasskey, 'createdAt' | 'lastUsedAt'>): StoredPasskey {
    const createdAt = iso(this.now());
    this.db
      .prepare('INSERT INTO passkey_credentials (id, person_id, public_key, counter, transports, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(passkey.id, passkey.personId, passkey.publicKey, passkey.counter, JSON.stringify(passkey.transports), createdAt);
    return { ...passkey, createdAt, lastUsedAt: null };
  }

  get(id: string): StoredPasskey | undefined {
    const row = this.db.prepare('SELECT * FROM passkey_credentials WHERE id = ?').get(id) as CredentialRow | undefined;
    return row && fromRow(row);
  }

  listOf(personId: string): PasskeyView[] {
    const rows = this.db.prepare('SELECT * FROM passkey_credentials WHERE person_id = ? ORDER BY created_at, id').all(personId) as unknown as CredentialRow[];
    return rows.map((r) => {
      const { id, createdAt, lastUsedAt, transports } = fromRow(r);
      return { id, createdAt, lastUsedAt, transports };
    });
  }

  countOf(personId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM passkey_credentials WHERE person_id = ?').get(personId) as { n: number }).n;
  }

  /** Records a sign-in with the passkey, only if its counter is still the one just checked:
   *  two sign-ins racing with the same counter value cannot both succeed. */
  recordUse(id: string, checkedCounter: number, newCounter: number): boolean {
    const result = this.db.prepare('UPDATE passkey_credentials SET counter = ?, last_used_at = ? WHERE id = ? AND counter = ?').run(newCounter, iso(this.now()), id, checkedCounter);
    return Number(result.changes) === 1;
  }

  /** Removes one of the person's passkeys; false when it is not theirs. */
  remove(personId: string, id: string): boolean {
    return Number(this.db.prepare('DELETE FROM passkey_credentials WHERE id = ? AND person_id = ?').run(id, personId).changes) === 1;
  }
}

function fromRow(r: CredentialRow): StoredPasskey {
  return {
    id: r.id,
    personId: r.person_id,
    publicKey: new Uint8Array(r.public_key),
    counter: Number(r.counter),
    transports: JSON.parse(r.transports) as string[],
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();
