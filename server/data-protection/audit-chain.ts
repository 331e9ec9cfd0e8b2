// The audit log's hash chain. Each row stores row_hash = sha256 over the previous row's hash and
// its own content, so that a changed, inserted or removed row is detectable. The personal fields
// (the actor's name and the detail) enter the chain only through a per-row digest,
// sha256(salt || personal fields): erasure and retention replace those fields and drop the salt,
// the digest stays, and the chain still verifies. Rows removed by retention (oldest first) leave
// an anchor: the hash of the last removed row, which the first kept row chains from.
import { createHash, randomBytes } from 'node:crypto';
import type { AuditChainVerdict } from '../../shared/data-protection.ts';
import type { Database } from '../db/database.ts';
import { engineOf } from '../db/engine.ts';

/** The columns that are chained as they are (no personal data in them). */
export interface ChainedColumns {
  id: number;
  at: string;
  session_id: string | null;
  actor_participant_id: string | null;
  actor_role: string | null;
  action: string;
  actor_person_id: string | null;
  organisation_id: string | null;
}

export interface PersonalColumns {
  actor_name: string | null;
  detail: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export const newSalt = (): string => randomBytes(16).toString('hex');

export function personalDigest(salt: string, personal: PersonalColumns): string {
  return sha256(`${salt}\n${JSON.stringify([personal.actor_name, personal.detail])}`);
}

export function rowHash(previous: string, row: ChainedColumns, digest: string): string {
  return sha256(
    JSON.stringify([previous, row.id, row.at, row.session_id, row.actor_participant_id, row.actor_role, row.action, row.actor_person_id, row.organisation_id, digest]),
  );
}

/** The hash a new row chains from: the newest row's, else the anchor's, else ''. */
export function chainHead(db: Database): string {
  const last = db.prepare('SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as { row_hash: string | null } | undefined;
  if (last?.row_hash) return last.row_hash;
  const anchor = db.prepare('SELECT row_hash FROM audit_anchor WHERE id = 1').get() as { row_hash: string } | undefined;
  return anchor?.row_hash ?? '';
}

/** The id the next row will get (AUTOINCREMENT never reuses one, even of deleted rows). */
export function nextAuditId(db: Database): number {
  // PostgreSQL's identity sequence hands it out (and never again, whatever becomes of it).
  if (engineOf(db) === 'postgres') return (db.prepare("SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS id").get() as { id: number }).id;
  const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").get() as { seq: number } | undefined;
  const max = db.prepare('SELECT MAX(id) AS id FROM audit_log').get() as { id: number | null };
  return Math.max(seq?.seq ?? 0, max.id ?? 0) + 1;
}

type StoredRow = ChainedColumns &
  PersonalColumns & { personal_salt: string | null; personal_digest: string | null; prev_hash: string | null; row_hash: string | null; pseudonymised_by: string | null };

/** Checks every row against its digest and the chain, from the anchor (if any) to the newest. */
export function verifyAuditChain(db: Database): AuditChainVerdict {
  const anchor = db.prepare('SELECT upto_id, row_hash FROM audit_anchor WHERE id = 1').get() as { upto_id: number; row_hash: string } | undefined;
  let previous = anchor?.row_hash ?? '';
  let rows = 0;
  const bad = (id: number, reason: string): AuditChainVerdict => ({ ok: false, rows, firstBad: { id, reason }, anchoredUpTo: anchor?.upto_id ?? 0 });
  // Read in pages: the log can be long.
  let after = -1;
  for (;;) {
    const page = db.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000').all(after) as unknown as StoredRow[];
    if (page.length === 0) break;
    for (const row of page) {
      if (anchor && row.id <= anchor.upto_id) return bad(row.id, 'a row the anchor says was removed is still there');
      if (!row.personal_digest || !row.row_hash) return bad(row.id, 'the row has no hash');
      if (row.personal_salt !== null) {
        if (personalDigest(row.personal_salt, row) !== row.personal_digest) return bad(row.id, 'the name or detail was changed');
      } else if (!row.pseudonymised_by) {
        return bad(row.id, 'the personal fields lost their salt without an erasure or retention run');
      }
      if (row.prev_hash !== previous) return bad(row.id, 'the row does not follow the one before it (a row was removed or inserted)');
      if (rowHash(previous, row, row.personal_digest) !== row.row_hash) return bad(row.id, 'the row was changed');
      previous = row.row_hash;
      rows += 1;
      after = row.id;
    }
  }
  return { ok: true, rows, firstBad: null, anchoredUpTo: anchor?.upto_id ?? 0 };
}

/**
 * The migration that starts the chain: adds the columns, chains every existing row in id order
 * (the old triggers are dropped for it and replaced by ones that allow only the erasure and
 * retention paths), and refuses from then on any row that does not extend the chain.
 */
export function chainExistingAuditRows(db: Database): void {
  db.exec(`ALTER TABLE audit_log ADD COLUMN personal_salt TEXT;
    ALTER TABLE audit_log ADD COLUMN personal_digest TEXT;
    ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
    ALTER TABLE audit_log ADD COLUMN row_hash TEXT;
    ALTER TABLE audit_log ADD COLUMN pseudonymised_by TEXT;
    CREATE TABLE audit_anchor (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      upto_id INTEGER NOT NULL,
      row_hash TEXT NOT NULL,
      at TEXT NOT NULL
    );
    DROP TRIGGER audit_log_no_update;
    DROP TRIGGER audit_log_no_delete;`);
  const update = db.prepare('UPDATE audit_log SET personal_salt = ?, personal_digest = ?, prev_hash = ?, row_hash = ? WHERE id = ?');
  let previous = '';
  let after = -1;
  for (;;) {
    const page = db.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000').all(after) as unknown as StoredRow[];
    if (page.length === 0) break;
    for (const row of page) {
      const salt = newSalt();
      const digest = personalDigest(salt, row);
      const hash = rowHash(previous, row, digest);
      update.run(salt, digest, previous, hash, row.id);
      previous = hash;
      after = row.id;
    }
  }
}
