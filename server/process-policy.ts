// What the process does with an exception nobody caught or a promise rejection nobody
// handled. Node's default is to exit, and with it every live assessment day (media, timers,
// recordings) — one malformed request was enough (issue 11, row 1). The studio's state lives
// in SQLite (every transition is stored before it is announced) and in per-request objects,
// so a stray error leaves it intact: log it (under a budget: a client may trigger it at will)
// and keep serving. Only errors that say the stored state itself is broken end the process,
// after closing what can be closed, so that a supervisor restarts it on a sound footing.
import type { Logger } from './log.ts';
import { LogBudget } from './log-budget.ts';

/** SQLite's primary result codes meaning the database file cannot be trusted any more. */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;
/** How long a fatal error waits for `onFatal` (closing the studio) before exiting anyway. */
const FATAL_CLOSE_MS = 5000;

export interface ProcessPolicy {
  /** Removes the handlers (Node's defaults apply again). */
  uninstall(): void;
}

export function isFatal(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode !== 'number') return false;
  const primary = errcode & 0xff; // extended result codes keep the primary one in the low byte
  return primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB;
}

export function installProcessPolicy(log: Logger, onFatal: () => Promise<void> | void = () => {}): ProcessPolicy {
  const budget = new LogBudget(log.child({ module: 'process-policy' }), 20);
  let exiting = false;

  const fatal = (kind: string, error: unknown): void => {
    if (exiting) return;
    exiting = true;
    log.fatal({ kind, err: describe(error) }, 'stored state is broken: closing and exiting');
    const timer = setTimeout(() => process.exit(1), FATAL_CLOSE_MS);
    timer.unref();
    void Promise.resolve()
      .then(onFatal)
      .catch((closeError: unknown) => log.error({ err: describe(closeError) }, 'closing after a fatal error failed'))
      .finally(() => process.exit(1));
  };

  const handle = (kind: 'uncaughtException' | 'unhandledRejection') => (error: unknown) => {
    if (isFatal(error)) return fatal(kind, error);
    budget.error({ kind, err: describe(error) }, `${kind}: logged; still serving`);
  };
  const onException = handle('uncaughtException');
  const onRejection = handle('unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    uninstall() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
      budget.flush();
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error.stack ?? error.message).slice(0, 2000);
  try {
    return String(error).slice(0, 2000);
  } catch {
    return 'unprintable value';
  }
}
