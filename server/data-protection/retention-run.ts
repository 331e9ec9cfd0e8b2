// The retention run: for each organisation, whatever of each data class is past the
// organisation's period is deleted or pseudonymised, except in sessions under a legal hold.
// Hourly in the server, and `npm run admin -- retention-run`. It is audited (a `job:retention`
// row per organisation, with what it removed) and returns the same report.
//   recordings        files deleted, rows marked deleted            (by the segment's end)
//   writtenWork       frozen text and its live document deleted     (by when it was frozen)
//   marksAndResults   scoring documents (sheets, notes, narrative) deleted; the moderated
//                     marks and outcome stay as the result record    (by sign-off, else the day's end)
//   audit             personal fields dropped (the chain verifies on); rows removed oldest
//                     first behind an anchor once every older row is past its period too
//   equalities        answers deleted                                (by when given)
//   emailLog          sent or failed mail deleted                    (by when queued)
import { randomUUID } from 'node:crypto';
import { sheetsPrefix } from '../../shared/collab.ts';
import { DATA_CLASSES, type DataClass, type RetentionClassReport, type RetentionReport } from '../../shared/data-protection.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { transaction, type Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { LegalHolds } from './legal-holds.ts';
import type { RetentionPeriodsRepo } from './retention-periods.ts';

export interface RetentionDeps {
  db: Database;
  audit: AuditRepo;
  periods: RetentionPeriodsRepo;
  holds: LegalHolds;
  /** Deletes a recording's file (path relative to the recordings folder). */
  removeRecordingFile: (file: string) => void;
  log?: Logger;
}

export interface RetentionOptions {
  organisationId?: string;
  dryRun?: boolean;
  /** Who asked: the hourly schedule, the admin command, or a person (audited). */
  trigger: string;
  now?: number;
}

const DAY_MS = 86_400_000;
const JOB = 'job:retention';

const emptyClass = (): RetentionClassReport => ({ removed: 0, pseudonymised: 0, sessionIds: [] });

export function runRetention(deps: RetentionDeps, options: RetentionOptions): RetentionReport {
  const { db } = deps;
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun ?? false;
  const organisationIds = options.organisationId
    ? [options.organisationId]
    : (db.prepare('SELECT id FROM organisations ORDER BY created_at, id').all() as Array<{ id: string }>).map((r) => r.id);
  const held = deps.holds.heldSessionIds();
  const report: RetentionReport = {
    dryRun,
    at: new Date(now).toISOString(),
    organisationIds,
    classes: Object.fromEntries(DATA_CLASSES.map((c) => [c, emptyClass()])) as Record<DataClass, RetentionClassReport>,
    heldSessionIds: [],
  };
  const heldHit = new Set<string>();
  const passId = `retention-${randomUUID()}`;

  for (const organisationId of organisationIds) {
    const periods = deps.periods.periods(organisationId);
    const cutoff = (c: DataClass): number => now - periods[c] * DAY_MS;
    const iso = (c: DataClass): string => new Date(cutoff(c)).toISOString();
    const own: Record<DataClass, RetentionClassReport> = Object.fromEntries(DATA_CLASSES.map((c) => [c, emptyClass()])) as Record<DataClass, RetentionClassReport>;
    /** Sessions past a period: the held ones are noted and left alone. */
    const notHeld = <T extends { session_id: string }>(rows: T[]): T[] =>
      rows.filter((r) => {
        if (!held.has(r.session_id)) return true;
        heldHit.add(r.session_id);
        return false;
      });

    // Recordings.
    const recordings = notHeld(
      db
        .prepare(
          `SELECT r.id, r.session_id, r.file FROM recordings r JOIN sessions s ON s.id = r.session_id
           WHERE s.organisation_id = ? AND r.status NOT IN ('deleted', 'recording') AND r.ended_at < ?`,
        )
        .all(organisationId, cutoff('recordings')) as Array<{ id: string; session_id: string; file: string }>,
    );
    for (const r of recordings) {
      if (!dryRun) {
        deps.removeRecordingFile(r.file);
        db.prepare("UPDATE recordings SET status = 'deleted', deleted_at = ? WHERE id = ?").run(now, r.id);
        // The session's own trail says so too.
        deps.audit.append({ sessionId: r.session_id, job: JOB, action: 'recording.deleted', detail: { id: r.id, reason: `older than ${periods.recordings} days` } });
        deps.log?.info({ id: r.id, sessionId: r.session_id, file: r.file }, 'recording deleted by retention');
      }
      own.recordings.removed += 1;
      own.recordings.sessionIds.push(r.session_id);
    }

    // Written work.
    const written = notHeld(
      db
        .prepare(`SELECT w.session_id FROM written_snapshots w JOIN sessions s ON s.id = w.session_id WHERE s.organisation_id = ? AND w.frozen_at < ?`)
        .all(organisationId, cutoff('writtenWork')) as Array<{ session_id: string }>,
    );
    for (const { session_id } of written) {
      if (!dryRun) {
        transaction(db, () => {
          db.prepare("INSERT INTO data_protection_pass (pass_id, kind, session_id) VALUES (?, 'retention', ?)").run(passId, session_id);
          db.prepare('DELETE FROM written_snapshots WHERE session_id = ?').run(session_id);
          db.prepare('INSERT INTO written_removed (session_id, removed_at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(session_id, new Date(now).toISOString());
          deleteDocs(db, `session/${session_id}/written`, `session/${session_id}/written`);
          db.prepare('DELETE FROM data_protection_pass WHERE pass_id = ?').run(passId);
          deps.audit.append({ sessionId: session_id, job: JOB, action: 'written.deleted', detail: { reason: `older than ${periods.writtenWork} days` } });
        });
      }
      own.writtenWork.removed += 1;
      own.writtenWork.sessionIds.push(session_id);
    }

    // Marks and results: the scoring documents of sessions signed off (or, unmoderated, whose
    // day ended) before the cutoff.
    const scored = notHeld(
      db
        .prepare(
          `SELECT s.id AS session_id FROM sessions s
             LEFT JOIN moderation_results m ON m.session_id = s.id
             LEFT JOIN assessment_days d ON d.session_id = s.id
           WHERE s.organisation_id = ?
             AND (m.signed_off_at < ? OR (m.signed_off_at IS NULL AND d.status = 'complete' AND d.updated_at < ?))
             AND EXISTS (SELECT 1 FROM collab_updates WHERE doc >= 'session/' || s.id || '/' AND doc < 'session/' || s.id || '/~' AND doc != 'session/' || s.id || '/written'
                         UNION ALL SELECT 1 FROM collab_snapshots WHERE doc >= 'session/' || s.id || '/' AND doc < 'session/' || s.id || '/~' AND doc != 'session/' || s.id || '/written')`,
        )
        .all(organisationId, iso('marksAndResults'), cutoff('marksAndResults')) as Array<{ session_id: string }>,
    );
    for (const { session_id } of scored) {
      if (!dryRun) {
        transaction(db, () => {
          deleteDocs(db, `session/${session_id}/rubric`, `session/${session_id}/rubric`);
          deleteDocs(db, sheetsPrefix(session_id), `${sheetsPrefix(session_id)}\uffff`);
        });
      }
      own.marksAndResults.removed += 1;
      own.marksAndResults.sessionIds.push(session_id);
    }

    // Audit: personal fields of rows past the period dropped (not of held sessions).
    const auditRows = db
      .prepare(`SELECT id, session_id FROM audit_log WHERE organisation_id = ? AND at < ? AND personal_salt IS NOT NULL`)
      .all(organisationId, iso('audit')) as Array<{ id: number; session_id: string | null }>;
    const auditDue = auditRows.filter((r) => r.session_id === null || notHeld([{ session_id: r.session_id }]).length === 1);
    if (!dryRun && auditDue.length > 0) stripAudit(db, passId, auditDue.map((r) => r.id));
    own.audit.pseudonymised += auditDue.length;
    own.audit.sessionIds.push(...auditDue.flatMap((r) => (r.session_id ? [r.session_id] : [])));

    // Equalities answers.
    const equalities = db.prepare('SELECT COUNT(*) AS n FROM equalities_answers WHERE organisation_id = ? AND answered_at < ?').get(organisationId, iso('equalities')) as { n: number };
    if (!dryRun) db.prepare('DELETE FROM equalities_answers WHERE organisation_id = ? AND answered_at < ?').run(organisationId, iso('equalities'));
    own.equalities.removed += equalities.n;

    // The email log (queued mail is still to be sent).
    const mail = db.prepare("SELECT COUNT(*) AS n FROM mail_outbox WHERE organisation_id = ? AND created_at < ? AND status != 'queued'").get(organisationId, iso('emailLog')) as { n: number };
    if (!dryRun) db.prepare("DELETE FROM mail_outbox WHERE organisation_id = ? AND created_at < ? AND status != 'queued'").run(organisationId, iso('emailLog'));
    own.emailLog.removed += mail.n;

    for (const c of DATA_CLASSES) {
      own[c].sessionIds = [...new Set(own[c].sessionIds)];
      const total = report.classes[c];
      total.removed += own[c].removed;
      total.pseudonymised += own[c].pseudonymised;
      total.sessionIds = [...new Set([...total.sessionIds, ...own[c].sessionIds])];
    }
    if (!dryRun) {
      deps.audit.append({
        person: { personId: null, name: JOB, role: 'job', organisationId },
        action: 'retention.run',
        detail: { trigger: options.trigger, classes: own, heldSessionIds: [...heldHit] },
      });
    }
  }

  // The studio's own audit rows (no organisation) go by the default period, in a run of all.
  if (!options.organisationId) {
    const heldIds = [...held];
    const notHeld = heldIds.length > 0 ? `session_id NOT IN (${heldIds.map(() => '?').join(', ')})` : 'TRUE';
    const due = db
      .prepare(`SELECT id FROM audit_log WHERE organisation_id IS NULL AND at < ? AND personal_salt IS NOT NULL AND (session_id IS NULL OR ${notHeld})`)
      .all(new Date(now - deps.periods.defaults.audit * DAY_MS).toISOString(), ...heldIds) as Array<{ id: number }>;
    if (!dryRun && due.length > 0) stripAudit(db, passId, due.map((r) => r.id));
    report.classes.audit.pseudonymised += due.length;
  }
  // Audit rows are removed from the oldest on while each was pseudonymised by a retention run
  // (the chain stays whole behind the anchor: the last removed row's hash).
  if (!dryRun) report.classes.audit.removed += removeAuditPrefix(db, passId);
  report.heldSessionIds = [...heldHit];
  return report;
}

/** Drops the personal fields of these audit rows (their digest stays in the chain). */
function stripAudit(db: Database, passId: string, ids: number[]): void {
  transaction(db, () => {
    db.prepare("INSERT INTO data_protection_pass (pass_id, kind) VALUES (?, 'retention')").run(passId);
    const strip = db.prepare("UPDATE audit_log SET actor_name = NULL, detail = '{}', personal_salt = NULL, pseudonymised_by = ? WHERE id = ?");
    for (const id of ids) strip.run(passId, id);
    db.prepare('DELETE FROM data_protection_pass WHERE pass_id = ?').run(passId);
  });
}

function deleteDocs(db: Database, from: string, to: string): void {
  db.prepare('DELETE FROM collab_updates WHERE doc >= ? AND doc <= ?').run(from, to);
  db.prepare('DELETE FROM collab_snapshots WHERE doc >= ? AND doc <= ?').run(from, to);
}

function removeAuditPrefix(db: Database, passId: string): number {
  const firstKept = db.prepare("SELECT MIN(id) AS id FROM audit_log WHERE pseudonymised_by IS NULL OR pseudonymised_by NOT LIKE 'retention-%'").get() as { id: number | null };
  const last = db
    .prepare('SELECT id, row_hash FROM audit_log WHERE (CAST(? AS BIGINT) IS NULL OR id < ?) ORDER BY id DESC LIMIT 1')
    .get(firstKept.id, firstKept.id) as { id: number; row_hash: string } | undefined;
  if (!last) return 0;
  return transaction(db, () => {
    db.prepare("INSERT INTO data_protection_pass (pass_id, kind) VALUES (?, 'retention')").run(passId);
    db.prepare(
      `INSERT INTO audit_anchor (id, upto_id, row_hash, at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET upto_id = excluded.upto_id, row_hash = excluded.row_hash, at = excluded.at`,
    ).run(last.id, last.row_hash, new Date().toISOString());
    const removed = db.prepare('DELETE FROM audit_log WHERE id <= ?').run(last.id).changes;
    db.prepare('DELETE FROM data_protection_pass WHERE pass_id = ?').run(passId);
    return Number(removed);
  });
}
