// The studio's mail: messages are stored in the outbox first (mail_outbox), then delivered by a
// loop that reads the due rows from the table, so a message survives a restart and is picked up
// again at start. With SMTP configured (SIMSTUDIO_SMTP_URL) each message is sent with nodemailer
// and retried with backoff until it is sent or given up; without it, the embedded default needs
// no mail server: the message is printed to the log (status 'logged') and stays readable in the
// outbox. Delivery is at least once: a process killed mid-send sends that message again.
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { parseOutgoingMail, type MailSender, type OutgoingMail } from './mail-message.ts';
import { OutboxRepo, type MailOutboxEntry } from './outbox-repo.ts';
import { createSmtpSender, describeFailure, isPermanentFailure, type SmtpSender, type SmtpTimeouts } from './smtp.ts';

export interface SmtpSettings {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://… (TLS from the start). */
  url: string;
  from: MailSender;
}

export interface MailerOptions {
  db: Database;
  log: Logger;
  /** null: no mail server; messages are printed to the log instead. */
  smtp: SmtpSettings | null;
  /** The clock that decides what is due (tests move it instead of waiting). */
  now?: () => number;
  /** Waits before the 2nd, 3rd, … attempt; after the last, a message has failed. */
  retryDelaysMs?: readonly number[];
  timeouts?: SmtpTimeouts;
  /** The loop looks at the table at least this often (default 60 s). */
  pollMs?: number;
}

/** 1 min, 5 min, 30 min: four attempts over about 36 minutes, then 'failed'. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [60_000, 5 * 60_000, 30 * 60_000];

// Rows read per query; a pass keeps reading until nothing more is due.
const BATCH = 20;
// The loop looks at the table at least this often, whatever it expects (a clock that jumped,
// rows queued by another process).
const POLL_MS = 60_000;
// After a pass that failed (e.g. the database refused a write), before the next.
const AFTER_ERROR_MS = 5_000;
const LIST_MAX = 500;

export class Mailer {
  private readonly outbox: OutboxRepo;
  private readonly log: Logger;
  private readonly smtp: SmtpSettings | null;
  private readonly sender: SmtpSender | null;
  private readonly now: () => number;
  private readonly retryDelaysMs: readonly number[];
  private readonly pollMs: number;
  private started = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(options: MailerOptions) {
    this.outbox = new OutboxRepo(options.db);
    this.log = options.log;
    this.smtp = options.smtp;
    this.sender = options.smtp ? createSmtpSender(options.smtp.url, options.smtp.from, options.timeouts) : null;
    this.now = options.now ?? Date.now;
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.pollMs = options.pollMs ?? POLL_MS;
  }

  /**
   * Stores a message for delivery and returns its outbox id; throws a MailInputError (stored
   * nothing) for a bad address, a line break in a header, or a message out of bounds. Safe
   * inside a database transaction: delivery starts only after the current task, so once the
   * transaction has committed (and never for a row it rolled back).
   */
  enqueue(mail: OutgoingMail): number {
    const message = parseOutgoingMail(mail);
    const id = this.outbox.insert(message, new Date(this.now()));
    this.log.info({ mailId: id, kind: message.kind, organisationId: message.organisationId }, 'mail queued');
    if (this.started && !this.closed) setImmediate(() => void this.deliverDue());
    return id;
  }

  /** Delivers the queued messages now, then whenever the next is due, until close(). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.smtp) {
      const server = new URL(this.smtp.url);
      this.log.info({ smtpHost: server.hostname, smtpPort: server.port || null, from: this.smtp.from.address }, 'mail: delivering through SMTP');
    } else {
      this.log.info('mail: no SMTP server configured (SIMSTUDIO_SMTP_URL), messages are printed to the log and kept in the outbox');
    }
    void this.deliverDue();
  }

  /**
   * One delivery pass: every queued message due by the clock, one after another. Concurrent
   * calls share the running pass (which then looks again before it ends). Never rejects: a
   * failure is stored on its message, or logged when the database itself failed.
   */
  deliverDue(): Promise<void> {
    if (this.closed) return Promise.resolve(); // its database may be closed by now
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      let failed = false;
      try {
        do {
          this.again = false;
          await this.deliverBatches();
        } while (this.again && !this.closed);
      } catch (error) {
        failed = true;
        this.log.error({ err: error }, 'mail delivery pass failed');
      } finally {
        this.running = null;
        this.schedule(failed);
      }
    })();
    this.running = run;
    return run;
  }

  get(id: number): MailOutboxEntry | undefined {
    return this.outbox.get(id);
  }

  /** The outbox of an organisation (null: the studio's own mail), newest first. */
  list(organisationId: string | null, { limit = 50 }: { limit?: number } = {}): MailOutboxEntry[] {
    return this.outbox.list(organisationId, Math.max(1, Math.min(LIST_MAX, Math.floor(limit))));
  }

  /** Stops the loop; waits for a message being sent (bounded by the SMTP timeouts). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    this.sender?.close();
  }

  private async deliverBatches(): Promise<void> {
    for (;;) {
      const due = this.outbox.due(new Date(this.now()), BATCH);
      for (const message of due) {
        if (this.closed) return;
        await this.deliver(message);
      }
      if (due.length < BATCH) return;
    }
  }

  private async deliver(message: MailOutboxEntry): Promise<void> {
    if (!this.sender) {
      // The embedded default: the log is the mail server. This prints what the message holds
      // (a sign-in link included) for whoever runs the studio to pass on.
      this.log.info(
        { mailId: message.id, kind: message.kind, mail: { to: message.to, subject: message.subject, text: message.text } },
        `mail not sent (no SMTP server configured), to ${message.to}: ${message.subject}`,
      );
      this.outbox.markLogged(message.id, new Date(this.now()));
      return;
    }
    try {
      const messageId = await this.sender.send(message);
      this.outbox.markSent(message.id, new Date(this.now()), messageId);
      this.log.info({ mailId: message.id, kind: message.kind, attempt: message.attempts + 1, messageId }, 'mail sent');
    } catch (error) {
      const reason = describeFailure(error);
      const permanent = isPermanentFailure(error);
      const delay = permanent ? undefined : this.retryDelaysMs[message.attempts];
      const retryAt = delay === undefined ? null : new Date(this.now() + delay);
      this.outbox.markAttemptFailed(message.id, reason, retryAt);
      this.log.warn(
        { mailId: message.id, kind: message.kind, attempt: message.attempts + 1, error: reason, retryAt: retryAt?.toISOString() ?? null },
        retryAt ? 'mail not sent, will retry' : permanent ? 'mail refused by the SMTP server, not retried' : 'mail not sent, giving up',
      );
    }
  }

  private schedule(afterError: boolean): void {
    if (!this.started || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let next: Date | null;
    try {
      next = this.outbox.nextDue();
    } catch (error) {
      this.log.error({ err: error }, 'mail: could not read the outbox');
      next = new Date(this.now());
      afterError = true;
    }
    // Nothing queued: enqueue() starts the next pass, and the regular look finds rows another
    // process (a command-line tool on the same data directory) has queued.
    const expected = next === null ? this.pollMs : next.getTime() - this.now();
    const wait = Math.min(this.pollMs, Math.max(afterError ? AFTER_ERROR_MS : 0, expected));
    this.timer = setTimeout(() => void this.deliverDue(), wait);
    // Mail never keeps the process alive on its own.
    this.timer.unref();
  }
}
