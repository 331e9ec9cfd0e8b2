// Failed sign-ins (a used or unknown email link, a refused passkey or single sign-on answer, an
// invite link that no longer works) are audited and logged, but anyone can cause them without
// signing in: a loop of requests to /auth/magic/<anything> wrote one append-only audit row and one
// log line each, so the database and the log grew without bound. Each is written in full up to a
// budget per minute; beyond it, they are counted, and one audit row and one log line per minute
// say how many were left out (the audit still shows that they happened, and how many).
import type { AuditRepo } from '../db/audit-repo.ts';
import { LogBudget } from '../log-budget.ts';
import type { Logger } from '../log.ts';
import { WindowBudget } from '../window-budget.ts';

type AuditAppend = Parameters<AuditRepo['append']>[0];

export interface SignInFailureOptions {
  /** Audit rows written in full per window. */
  auditPerWindow?: number;
  /** Log lines written in full per window. */
  logPerWindow?: number;
  windowMs?: number;
  now?: () => number;
}

export class SignInFailures {
  private readonly audit: Pick<AuditRepo, 'append'>;
  private readonly logBudget: LogBudget;
  private readonly budget: WindowBudget;
  /** Left out of the audit this window, by action. */
  private readonly suppressed = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(audit: Pick<AuditRepo, 'append'>, log: Logger, options: SignInFailureOptions = {}) {
    this.audit = audit;
    const windowMs = options.windowMs ?? 60_000;
    const now = options.now ?? Date.now;
    this.budget = new WindowBudget(options.auditPerWindow ?? 100, windowMs, now);
    this.logBudget = new LogBudget(log, options.logPerWindow ?? 20, windowMs, now);
  }

  /** Audits (within the budget) and logs (within its own) one failed sign-in. */
  record(entry: AuditAppend, log: { fields: Record<string, unknown>; message: string }): void {
    this.logBudget.warn(log.fields, log.message);
    if (this.budget.take(() => this.writeCounts())) {
      this.audit.append(entry);
      return;
    }
    this.suppressed.set(entry.action, (this.suppressed.get(entry.action) ?? 0) + 1);
    // The count is written when the window ends even if no further failure comes.
    this.flushTimer ??= setTimeout(() => this.flush(), this.budget.msLeft());
    this.flushTimer.unref();
  }

  /** Logs (within the budget) a failure that names nobody known: nothing to audit. */
  logOnly(log: { fields: Record<string, unknown>; message: string }): void {
    this.logBudget.warn(log.fields, log.message);
  }

  /** Writes what the current window left out, and starts a new window. */
  flush(): void {
    this.writeCounts();
    this.logBudget.flush();
    this.budget.restart();
  }

  /** Writes what is left out (the studio is closing). */
  close(): void {
    this.flush();
  }

  private writeCounts(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const [action, count] of this.suppressed) {
      this.audit.append({ job: 'sign-in guard', action: `${action}.suppressed`, detail: { count, windowMs: this.budget.windowMs } });
    }
    this.suppressed.clear();
  }
}
