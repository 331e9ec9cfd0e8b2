// Reminders before a session (SIMSTUDIO_REMINDERS, e.g. 7 days, 1 day, 1 hour): one row per
// person and reminder time, planned at booking and kept in the database, so each is sent once
// and a restart carries on. A reschedule cancels the planned rows and plans new ones for the new
// start; a cancellation cancels them; none is planned for a moment already past. Due rows are
// sent by a loop on an injectable clock; the row is marked sent in the same transaction that
// queues the mail, so a reminder is neither lost nor sent twice.
import { transaction, type Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { MailInputError } from '../mail/mail-message.ts';
import type { ReminderOffset } from '../mail/schedule-settings.ts';

export interface DueReminder {
  id: number;
  sessionId: string;
  participantId: string;
  offsetMs: number;
  startsAt: number;
  dueAt: number;
}

export type ReminderStatus = 'planned' | 'sent' | 'cancelled' | 'skipped';

export interface ReminderRow extends DueReminder {
  status: ReminderStatus;
  mailId: number | null;
}

interface Row {
  id: number;
  session_id: string;
  participant_id: string;
  offset_ms: number;
  starts_at: number;
  due_at: number;
  status: ReminderStatus;
  mail_id: number | null;
}

const toRow = (r: Row): ReminderRow => ({
  id: r.id,
  sessionId: r.session_id,
  participantId: r.participant_id,
  offsetMs: r.offset_ms,
  startsAt: r.starts_at,
  dueAt: r.due_at,
  status: r.status,
  mailId: r.mail_id,
});

export interface ReminderDeps {
  db: Database;
  offsets: readonly ReminderOffset[];
  now: () => number;
  log: Logger;
  /** Makes the reminder's message; the returned function queues it (inside the row's
   *  transaction) and returns its outbox id. null: nobody to send it to (no address). */
  send: (due: DueReminder) => Promise<(() => number) | null>;
  /** The session's planned start now (a row for another start is stale). */
  currentStart: (sessionId: string) => number | null;
  /** The loop looks at the table at least this often (default 60 s). */
  pollMs?: number;
}

const POLL_MS = 60_000;
const BATCH = 50;

export class Reminders {
  private readonly deps: ReminderDeps;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private closed = false;

  constructor(deps: ReminderDeps) {
    this.deps = deps;
  }

  /** Plans each reminder time for these participants of the session (not for a moment past). */
  plan(sessionId: string, participantIds: readonly string[], start: number | null): number {
    if (start === null || this.deps.offsets.length === 0) return 0;
    const now = this.deps.now();
    let planned = 0;
    transaction(this.deps.db, () => {
      const sentBefore = this.deps.db.prepare(
        `SELECT 1 FROM mail_reminders WHERE session_id = ? AND participant_id = ? AND offset_ms = ? AND starts_at = ? AND status = 'sent'`,
      );
      const insert = this.deps.db.prepare(
        `INSERT INTO mail_reminders (session_id, participant_id, offset_ms, starts_at, due_at, status) VALUES (?, ?, ?, ?, ?, 'planned') ON CONFLICT DO NOTHING`,
      );
      for (const participantId of participantIds) {
        for (const offset of this.deps.offsets) {
          const dueAt = start - offset.ms;
          if (dueAt <= now) continue;
          // Moved back to a start whose reminder already went out: it is not sent again.
          if (sentBefore.get(sessionId, participantId, offset.ms, start)) continue;
          planned += Number(insert.run(sessionId, participantId, offset.ms, start, dueAt).changes);
        }
      }
    });
    this.poke();
    return planned;
  }

  /** A new start: what was planned for the old one is cancelled, the new one planned. */
  replan(sessionId: string, participantIds: readonly string[], start: number | null): number {
    return transaction(this.deps.db, () => {
      this.cancel(sessionId);
      return this.plan(sessionId, participantIds, start);
    });
  }

  /** Cancels the planned reminders of the session (of these participants only, when given). */
  cancel(sessionId: string, participantIds?: readonly string[]): number {
    const at = new Date(this.deps.now()).toISOString();
    if (!participantIds) {
      return Number(this.deps.db.prepare(`UPDATE mail_reminders SET status = 'cancelled', decided_at = ? WHERE session_id = ? AND status = 'planned'`).run(at, sessionId).changes);
    }
    let n = 0;
    const update = this.deps.db.prepare(`UPDATE mail_reminders SET status = 'cancelled', decided_at = ? WHERE session_id = ? AND participant_id = ? AND status = 'planned'`);
    for (const id of participantIds) n += Number(update.run(at, sessionId, id).changes);
    return n;
  }

  list(sessionId: string): ReminderRow[] {
    return (this.deps.db.prepare('SELECT * FROM mail_reminders WHERE session_id = ? ORDER BY due_at, id').all(sessionId) as unknown as Row[]).map(toRow);
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.runDue();
  }

  /** Sends every reminder due by the clock. Concurrent calls share the running pass. Never rejects. */
  runDue(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.closed);
      } catch (error) {
        this.deps.log.error({ err: error }, 'reminder pass failed');
      } finally {
        this.running = null;
        this.schedule();
      }
    })();
    this.running = run;
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pass(): Promise<void> {
    for (;;) {
      const now = this.deps.now();
      const due = (
        this.deps.db.prepare(`SELECT * FROM mail_reminders WHERE status = 'planned' AND due_at <= ? ORDER BY due_at, id LIMIT ?`).all(now, BATCH) as unknown as Row[]
      ).map(toRow);
      for (const row of due) {
        if (this.closed) return;
        await this.deliver(row, now);
      }
      if (due.length < BATCH) return;
    }
  }

  private async deliver(row: ReminderRow, now: number): Promise<void> {
    const decide = (status: ReminderStatus, why: string, mailId: number | null = null): void => {
      this.deps.db
        .prepare(`UPDATE mail_reminders SET status = ?, decided_at = ?, mail_id = ? WHERE id = ? AND status = 'planned'`)
        .run(status, new Date(now).toISOString(), mailId, row.id);
      this.deps.log.info({ reminderId: row.id, sessionId: row.sessionId, participantId: row.participantId, offsetMs: row.offsetMs, status, why }, 'reminder decided');
    };
    if (this.deps.currentStart(row.sessionId) !== row.startsAt) return decide('cancelled', 'the session no longer starts then');
    if (row.startsAt <= now) return decide('skipped', 'the session has started');
    // After a pause (the studio was down), several may be due at once: only the nearest to
    // the start is worth sending ("in 7 days" an hour before would mislead).
    const nearer = this.deps.db
      .prepare(`SELECT 1 FROM mail_reminders WHERE session_id = ? AND participant_id = ? AND status = 'planned' AND due_at <= ? AND offset_ms < ?`)
      .get(row.sessionId, row.participantId, now, row.offsetMs);
    if (nearer) return decide('skipped', 'a nearer reminder is due');
    const enqueue = await this.deps.send(row);
    transaction(this.deps.db, () => {
      const still = this.deps.db.prepare(`SELECT status FROM mail_reminders WHERE id = ?`).get(row.id) as { status: ReminderStatus } | undefined;
      if (still?.status !== 'planned') return;
      if (!enqueue) return decide('skipped', 'no email address');
      let mailId: number;
      try {
        mailId = enqueue();
      } catch (error) {
        if (error instanceof MailInputError) return decide('skipped', error.message);
        throw error;
      }
      decide('sent', 'due', mailId);
    });
  }

  /** Something was planned: the loop looks again (its next wake-up may be earlier now). */
  private poke(): void {
    if (this.started && !this.closed && !this.running) this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const row = this.deps.db.prepare(`SELECT MIN(due_at) AS at FROM mail_reminders WHERE status = 'planned'`).get() as { at: number | null };
    const poll = this.deps.pollMs ?? POLL_MS;
    const wait = row.at === null ? poll : Math.min(poll, Math.max(0, row.at - this.deps.now()));
    this.timer = setTimeout(() => void this.runDue(), wait);
    this.timer.unref();
  }
}
