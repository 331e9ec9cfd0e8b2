// The mail outbox table: every message the studio sends, with its delivery state. Rows are the
// queue itself (a queued row carries when it is next due), so nothing lives only in memory and a
// restart simply carries on from the table.
import type { Database } from '../db/database.ts';
import type { MailAttachment, OutgoingMail } from './mail-message.ts';

/** queued: waiting for (another) attempt; sent: accepted by the SMTP server; failed: given up;
 *  logged: no SMTP server configured, so the message was printed to the log instead. */
export type MailStatus = 'queued' | 'sent' | 'failed' | 'logged';

export interface MailOutboxEntry {
  id: number;
  organisationId: string | null;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  kind: string;
  status: MailStatus;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  /** When a queued message is next tried; null once it is no longer queued. */
  nextAttemptAt: string | null;
  /** The Message-ID the SMTP server accepted. */
  messageId: string | null;
  attachments: MailAttachment[];
}

interface OutboxRow {
  id: number;
  organisation_id: string | null;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  kind: string;
  status: MailStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  next_attempt_at: string | null;
  message_id: string | null;
  attachments: string | null;
}

const toEntry = (row: OutboxRow): MailOutboxEntry => ({
  id: row.id,
  organisationId: row.organisation_id,
  to: row.to_address,
  subject: row.subject,
  text: row.text_body,
  html: row.html_body,
  kind: row.kind,
  status: row.status,
  attempts: row.attempts,
  lastError: row.last_error,
  createdAt: row.created_at,
  sentAt: row.sent_at,
  nextAttemptAt: row.next_attempt_at,
  messageId: row.message_id,
  attachments: row.attachments ? (JSON.parse(row.attachments) as MailAttachment[]) : [],
});

// Stored errors are for people reading the admin page, not whole SMTP transcripts.
const ERROR_MAX = 1000;

export class OutboxRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** Stores a message as queued, due at `at`; returns its id. */
  insert(mail: OutgoingMail, at: Date): number {
    const stored = this.db
      .prepare(
        `INSERT INTO mail_outbox (organisation_id, to_address, subject, text_body, html_body, kind, status, attempts, created_at, next_attempt_at, attachments)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?) RETURNING id`,
      )
      .get(
        mail.organisationId,
        mail.to,
        mail.subject,
        mail.text,
        mail.html ?? null,
        mail.kind,
        at.toISOString(),
        at.toISOString(),
        mail.attachments?.length ? JSON.stringify(mail.attachments) : null,
      );
    return Number((stored as { id: number }).id);
  }

  get(id: number): MailOutboxEntry | undefined {
    const row = this.db.prepare('SELECT * FROM mail_outbox WHERE id = ?').get(id) as OutboxRow | undefined;
    return row && toEntry(row);
  }

  /** Queued messages due at `at`, oldest due first. */
  due(at: Date, limit: number): MailOutboxEntry[] {
    const rows = this.db
      .prepare(`SELECT * FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`)
      .all(at.toISOString(), limit) as unknown as OutboxRow[];
    return rows.map(toEntry);
  }

  /** When the next queued message is due, if any is queued. */
  nextDue(): Date | null {
    const row = this.db.prepare(`SELECT MIN(next_attempt_at) AS at FROM mail_outbox WHERE status = 'queued'`).get() as { at: string | null };
    return row.at === null ? null : new Date(row.at);
  }

  /** Newest first; `organisationId` null: the studio's own mail (sent for no organisation). */
  list(organisationId: string | null, limit: number): MailOutboxEntry[] {
    const rows = this.db
      .prepare(`SELECT * FROM mail_outbox WHERE organisation_id IS NOT DISTINCT FROM ? ORDER BY id DESC LIMIT ?`)
      .all(organisationId, limit) as unknown as OutboxRow[];
    return rows.map(toEntry);
  }

  markSent(id: number, at: Date, messageId: string | null): void {
    this.db
      .prepare(`UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, message_id = ?, next_attempt_at = NULL WHERE id = ? AND status = 'queued'`)
      .run(at.toISOString(), messageId, id);
  }

  markLogged(id: number, at: Date): void {
    this.db
      .prepare(`UPDATE mail_outbox SET status = 'logged', sent_at = ?, next_attempt_at = NULL WHERE id = ? AND status = 'queued'`)
      .run(at.toISOString(), id);
  }

  /** A failed attempt: queued again for `retryAt`, or failed for good when `retryAt` is null. */
  markAttemptFailed(id: number, error: string, retryAt: Date | null): void {
    this.db
      .prepare(
        `UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?,
           status = CASE WHEN CAST(? AS TEXT) IS NULL THEN 'failed' ELSE 'queued' END, next_attempt_at = ?
         WHERE id = ? AND status = 'queued'`,
      )
      .run(error.slice(0, ERROR_MAX), retryAt?.toISOString() ?? null, retryAt?.toISOString() ?? null, id);
  }
}
