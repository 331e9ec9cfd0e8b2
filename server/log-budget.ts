// Rate-limited logging for lines a client (or a fault loop) can trigger at will: at most `max`
// lines per window, then one summary line saying how many were left out. Without it one
// client sending 20,000 bad messages writes 20,000 log lines (issue 11, row 13).
import type { Logger } from './log.ts';
import { WindowBudget } from './window-budget.ts';

type Level = 'warn' | 'error';

export class LogBudget {
  private readonly log: Logger;
  private readonly budget: WindowBudget;
  private suppressed = 0;

  constructor(log: Logger, max: number, windowMs = 60_000, now: () => number = Date.now) {
    this.log = log;
    this.budget = new WindowBudget(max, windowMs, now);
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.write('warn', fields, message);
  }

  error(fields: Record<string, unknown>, message: string): void {
    this.write('error', fields, message);
  }

  /** Writes the summary of what this window left out now (e.g. when a socket closes). */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.warn({ suppressed: this.suppressed, windowMs: this.budget.windowMs }, 'similar log lines suppressed');
    this.suppressed = 0;
  }

  private write(level: Level, fields: Record<string, unknown>, message: string): void {
    if (this.budget.take(() => this.flush())) this.log[level](fields, message);
    else this.suppressed++;
  }
}
