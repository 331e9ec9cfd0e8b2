// Erasure of a person (right to erasure): their personal data is deleted or irreversibly
// replaced by a pseudonym, everywhere, in one transaction. Their name, email and candidate
// reference are replaced by the pseudonym in every text column of every table (free text
// that names them included); equalities answers, recordings of them, sign-in methods and
// identities are deleted; their audit rows keep their place in the hash chain (the salt of the
// personal fields is dropped, the digest stays). A session under a legal hold refuses the
// erasure. Signed-off results stay, pseudonymised, with the stated reason recorded (the
// statutory record); the erasure row names what was kept and why, never who the person was.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import type { ErasureReport, ErasureRequest } from '../../shared/data-protection.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { AuditPerson, AuditRepo } from '../db/audit-repo.ts';
import { transaction, type Database } from '../db/database.ts';
import { engineOf, textColumnsByTable } from '../db/engine.ts';
import { pseudonymiseScoringDocuments } from './erase-in-documents.ts';
import type { LegalHolds } from './legal-holds.ts';

export interface ErasureDeps {
  db: Database;
  audit: AuditRepo;
  holds: LegalHolds;
  removeRecordingFile: (file: string) => void;
  /** These stored documents were rewritten: copies held in memory must be dropped. */
  documentsChanged?: (names: string[]) => void;
}

/** Tables the sweep leaves alone: handled by id below, or holding no personal data of anyone. */
const NOT_SWEPT = new Set(['audit_log', 'audit_anchor', 'erasures', 'data_protection_pass', 'people', 'participants', 'retention_periods']);

/** Shorter strings would replace parts of other words. */
const MIN_REPLACED = 4;

export function erasePerson(
  deps: ErasureDeps,
  input: { organisationId: string; personId: string; request: ErasureRequest; by: AuditPerson },
): ErasureReport {
  const { db } = deps;
  const person = db.prepare('SELECT id, display_name, email, candidate_ref FROM people WHERE id = ? AND organisation_id = ?').get(input.personId, input.organisationId) as
    | { id: string; display_name: string; email: string | null; candidate_ref: string | null }
    | undefined;
  if (!person) throw new ProtocolFailure('NOT_FOUND', 'no such person');
  if (db.prepare('SELECT 1 FROM erasures WHERE person_id = ?').get(person.id)) throw new ProtocolFailure('CONFLICT', 'this person has already been erased');
  if (input.by.personId === person.id) throw new ProtocolFailure('CONFLICT', 'you cannot erase yourself: ask another administrator');
  const participants = db.prepare('SELECT id, session_id, display_name, role FROM participants WHERE person_id = ?').all(person.id) as Array<{
    id: string;
    session_id: string;
    display_name: string;
    role: string;
  }>;
  const candidateSessions = participants.filter((p) => p.role === 'candidate').map((p) => p.session_id);
  const resultSessions = candidateSessions.filter((id) => db.prepare('SELECT 1 FROM moderation_results WHERE session_id = ?').get(id));
  if (resultSessions.length > 0 && !input.request.keepResults) {
    throw new ProtocolFailure('INVALID_PAYLOAD', 'this person has results, which are kept (pseudonymised) as the statutory record: give the reason they are kept');
  }

  const erasureId = randomUUID();
  const tag = randomBytes(4).toString('hex');
  const pseudonym = `Erased person ${tag}`;
  const pseudonymEmail = `erased-${tag}@erased.invalid`;
  const pseudonymRef = `erased-${tag}`;
  // Longest first, so that a name inside a longer one is replaced as part of the longer one.
  const replacements = new Map<string, string>();
  for (const name of [person.display_name, ...participants.map((p) => p.display_name)]) if (name.trim().length >= MIN_REPLACED) replacements.set(name, pseudonym);
  if (person.email) replacements.set(person.email, pseudonymEmail);
  const refs = new Set([person.candidate_ref, ...candidateSessions.map((id) => (db.prepare('SELECT candidate_ref FROM session_plans WHERE session_id = ?').get(id) as { candidate_ref: string | null } | undefined)?.candidate_ref)]);
  for (const ref of refs) if (ref && ref.length >= MIN_REPLACED) replacements.set(ref, pseudonymRef);
  const ordered = [...replacements.entries()].sort((a, b) => b[0].length - a[0].length);
  const participantIds = participants.map((p) => p.id);
  const textColumns = sweptColumns(db);
  // Their sessions, and every other session with a row that names them (a review they were
  // the reviewer of, say): a hold on any of them refuses the erasure, and the protected rows
  // of exactly these sessions are opened to the pseudonymisation.
  const sessionIds = [...new Set([...participants.map((p) => p.session_id), ...sessionsNaming(db, textColumns, ordered.map(([from]) => from))])];
  const held = deps.holds.heldSessionIds();
  const heldHere = sessionIds.filter((id) => held.has(id));
  if (heldHere.length > 0) throw new ProtocolFailure('CONFLICT', `a legal hold is on ${heldHere.length === 1 ? 'a session' : `${heldHere.length} sessions`} of this person (${heldHere.join(', ')}): release it first`);
  const tables: Record<string, number> = {};
  const count = (table: string, n: number | bigint): void => {
    if (Number(n) > 0) tables[table] = (tables[table] ?? 0) + Number(n);
  };
  const inList = (ids: string[]): string => ids.map(() => '?').join(', ') || "''";
  let recordingFiles: string[] = [];
  const changedDocuments: string[] = [];

  transaction(db, () => {
    const pass = db.prepare("INSERT INTO data_protection_pass (pass_id, kind, session_id) VALUES (?, 'erasure', ?)");
    pass.run(erasureId, null);
    for (const id of sessionIds) pass.run(erasureId, id);

    // What is deleted outright.
    const recordings = db
      .prepare(`SELECT id, file FROM recordings WHERE participant_id IN (${inList(participantIds)}) AND status != 'deleted'`)
      .all(...participantIds) as Array<{ id: string; file: string }>;
    for (const r of recordings) db.prepare("UPDATE recordings SET status = 'deleted', deleted_at = ? WHERE id = ?").run(Date.now(), r.id);
    count('recordings', recordings.length);
    recordingFiles = recordings.map((r) => r.file);
    for (const ref of refs) if (ref) count('equalities_answers', db.prepare('DELETE FROM equalities_answers WHERE organisation_id = ? AND candidate_ref = ?').run(input.organisationId, ref).changes);
    count('magic_links', db.prepare('DELETE FROM magic_links WHERE person_id = ?').run(person.id).changes);
    count('passkey_challenges', db.prepare('DELETE FROM passkey_challenges WHERE person_id = ?').run(person.id).changes);
    count('passkey_credentials', db.prepare('DELETE FROM passkey_credentials WHERE person_id = ?').run(person.id).changes);
    count('person_identities', db.prepare('DELETE FROM person_identities WHERE person_id = ?').run(person.id).changes);
    count('staff_sessions', db.prepare('UPDATE staff_sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE person_id = ?').run(new Date().toISOString(), person.id).changes);
    count('invite_links', db.prepare(`UPDATE invite_links SET revoked_at = COALESCE(revoked_at, ?) WHERE participant_id IN (${inList(participantIds)})`).run(new Date().toISOString(), ...participantIds).changes);
    // The candidate's live written document: the frozen text is the record of what they wrote.
    for (const id of candidateSessions) {
      count('collab_updates', db.prepare('DELETE FROM collab_updates WHERE doc = ?').run(`session/${id}/written`).changes);
      count('collab_snapshots', db.prepare('DELETE FROM collab_snapshots WHERE doc = ?').run(`session/${id}/written`).changes);
      changedDocuments.push(`session/${id}/written`);
    }

    // The person and their places in sessions, by id.
    count(
      'people',
      db.prepare('UPDATE people SET display_name = ?, email = NULL, candidate_ref = CASE WHEN candidate_ref IS NULL THEN NULL ELSE ? END, removed_at = COALESCE(removed_at, ?) WHERE id = ?')
        .run(pseudonym, pseudonymRef, new Date().toISOString(), person.id).changes,
    );
    count('participants', db.prepare('UPDATE participants SET display_name = ? WHERE person_id = ?').run(pseudonym, person.id).changes);

    // Everywhere else their name, email or candidate reference appears in text.
    for (const { table, column } of textColumns) {
      for (const [from, to] of ordered) {
        count(
          table,
          db.prepare(`UPDATE "${table}" SET "${column}" = replace("${column}", ?, ?) WHERE ${holdsText(db, column)} AND instr("${column}", ?) > 0`).run(from, to, from).changes,
        );
      }
    }
    // The scoring documents (notes, reasons, feedback: free text in Yjs binary) of the same sessions.
    const rewritten = pseudonymiseScoringDocuments(db, sessionIds, ordered);
    count('collab_snapshots', rewritten.length);
    changedDocuments.push(...rewritten);

    // A frozen text that named them (theirs, or another candidate's that names them): its
    // editor state and the live document (which hold the same text) are dropped, and its hash
    // is of the text as it now reads.
    for (const id of sessionIds) {
      const snapshot = db.prepare('SELECT text, sha256 FROM written_snapshots WHERE session_id = ?').get(id) as { text: string; sha256: string } | undefined;
      if (!snapshot) continue;
      const sha256 = createHash('sha256').update(snapshot.text, 'utf8').digest('hex');
      if (sha256 !== snapshot.sha256) {
        db.prepare('UPDATE written_snapshots SET state = ?, sha256 = ? WHERE session_id = ?').run(Y.encodeStateAsUpdate(new Y.Doc()), sha256, id);
        const written = `session/${id}/written`;
        count('collab_updates', db.prepare('DELETE FROM collab_updates WHERE doc = ?').run(written).changes);
        count('collab_snapshots', db.prepare('DELETE FROM collab_snapshots WHERE doc = ?').run(written).changes);
        changedDocuments.push(written);
      }
    }

    // Their audit rows: the actor named by the pseudonym, the name anywhere in the detail too.
    const auditRows = db
      .prepare(`SELECT id, actor_name, detail, actor_person_id, actor_participant_id FROM audit_log WHERE actor_person_id = ? OR actor_participant_id IN (${inList(participantIds)}) OR ${ordered.map(() => '(instr(actor_name, ?) > 0 OR instr(detail, ?) > 0)').join(' OR ') || '0'}`)
      .all(person.id, ...participantIds, ...ordered.flatMap(([from]) => [from, jsonInner(from)])) as Array<{
      id: number;
      actor_name: string | null;
      detail: string;
      actor_person_id: string | null;
      actor_participant_id: string | null;
    }>;
    const rewrite = db.prepare('UPDATE audit_log SET actor_name = ?, detail = ?, personal_salt = NULL, pseudonymised_by = ? WHERE id = ?');
    for (const row of auditRows) {
      const theirs = row.actor_person_id === person.id || (row.actor_participant_id !== null && participantIds.includes(row.actor_participant_id));
      let name = theirs ? pseudonym : row.actor_name;
      let detail = row.detail;
      for (const [from, to] of ordered) {
        if (name) name = name.split(from).join(to);
        detail = detail.split(jsonInner(from)).join(jsonInner(to));
      }
      rewrite.run(name, detail, erasureId, row.id);
    }
    count('audit_log', auditRows.length);

    const report: ErasureReport = {
      erasureId,
      pseudonym,
      tables,
      recordingsDeleted: recordings.length,
      resultsKept: resultSessions.length > 0 && input.request.keepResults ? { sessionIds: resultSessions, reason: input.request.keepResults.reason } : null,
    };
    db.prepare(
      `INSERT INTO erasures (id, organisation_id, person_id, pseudonym, reason, results_kept_reason, results_kept_sessions, erased_by_person_id, erased_at, report)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      erasureId,
      input.organisationId,
      person.id,
      pseudonym,
      input.request.reason,
      report.resultsKept?.reason ?? null,
      JSON.stringify(report.resultsKept?.sessionIds ?? []),
      input.by.personId,
      new Date().toISOString(),
      JSON.stringify(report),
    );
    db.prepare('DELETE FROM data_protection_pass WHERE pass_id = ?').run(erasureId);
    deps.audit.append({ person: input.by, action: 'person.erased', detail: { erasureId, personId: person.id, pseudonym, resultsKept: report.resultsKept, tables } });
  });
  // Files go once the rows saying they are gone are stored.
  for (const file of recordingFiles) deps.removeRecordingFile(file);
  if (changedDocuments.length > 0) deps.documentsChanged?.(changedDocuments);
  return JSON.parse((db.prepare('SELECT report FROM erasures WHERE id = ?').get(erasureId) as { report: string }).report) as ErasureReport;
}

/** Every column the sweep replaces names in: text columns of every table but NOT_SWEPT. */
function sweptColumns(db: Database): Array<{ table: string; column: string; bySession: boolean }> {
  const found: Array<{ table: string; column: string; bySession: boolean }> = [];
  for (const [table, columns] of textColumnsByTable(db)) {
    if (NOT_SWEPT.has(table)) continue;
    const bySession = columns.includes('session_id');
    for (const column of columns) found.push({ table, column, bySession });
  }
  return found;
}

/** SQL true where the column holds text (SQLite may keep a number in an untyped column). */
function holdsText(db: Database, column: string): string {
  return engineOf(db) === 'sqlite' ? `typeof("${column}") = 'text'` : `"${column}" IS NOT NULL`;
}

function sessionsNaming(db: Database, columns: Array<{ table: string; column: string; bySession: boolean }>, strings: string[]): string[] {
  const ids = new Set<string>();
  for (const { table, column, bySession } of columns) {
    if (!bySession) continue;
    for (const text of strings) {
      const rows = db.prepare(`SELECT DISTINCT session_id FROM "${table}" WHERE ${holdsText(db, column)} AND instr("${column}", ?) > 0`).all(text) as Array<{ session_id: string | null }>;
      for (const r of rows) if (r.session_id) ids.add(r.session_id);
    }
  }
  return [...ids];
}

/** How a string appears inside a JSON string. */
function jsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
