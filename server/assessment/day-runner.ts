// Runs every session's assessment day on the server clock: applies control actions, lets
// hard timers advance by themselves, persists every transition before announcing it, and
// rebuilds its timers from the database after a restart.
//
// A timer never throws: when the database refuses a due transition (SQLITE_BUSY past the busy
// timeout, SQLITE_FULL, any other error) nothing of it was stored (one transaction with its
// audit row), the day stays where it was for everyone, the runner retries with backoff and an
// alert stands on the coordinator's board until the transition is stored. Retrying recomputes
// the same transition from the same stored record, so it is applied exactly once, never skipped.
//
// A transition is stored only on top of the stored day it was computed from (PlansRepo.
// saveTransition). Another process that runs the same day (a second studio node on the same
// database) may have stored it first: then this one reads the day again and announces what is
// stored, never a second copy of the transition or its audit row.
//
// With several nodes, a day's timers are the business of the node holding its session (the
// `timersHere` gate, server/cluster/session-leases.ts); the others take the stored day as it is
// announced, and look again every second while a deadline is due, in case its holder died.
import { EventEmitter } from 'node:events';
import { storageErrorText } from '../db/engine.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { BoardAlert } from '../../shared/api.ts';
import type { DayControl, PhaseSpec } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Logger } from '../log.ts';
import { advanceDue, applyControl, newDay, nextWakeUp, type DayRecord } from './day-machine.ts';
import type { PlansRepo } from './plans-repo.ts';

/** setTimeout cannot wait longer than this; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Retry delays after a failed transition: 0.5 s, 1 s, 2 s, … up to 30 s between attempts
 *  (each attempt may itself wait out the database's busy timeout). */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
/** A due deadline this node leaves to another (the session's holder) is looked at again this soon. */
const GATED_RECHECK_MS = 1_000;

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_FIRST_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}

/** The stored day is not the one a transition was computed from: it moved elsewhere. */
class DayMovedElsewhere extends ProtocolFailure {
  constructor() {
    super('CONFLICT', 'the day was changed elsewhere at the same moment; nothing was changed');
  }
}

interface RunnerEvents {
  changed: [record: DayRecord];
}

type AuditInput = Parameters<AuditRepo['append']>[0];

interface Failure {
  since: number;
  attempts: number;
  reason: string;
}

export class DayRunner extends EventEmitter<RunnerEvents> {
  private readonly plans: PlansRepo;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly days = new Map<string, DayRecord>();
  /** At most one timer per session: the next deadline, or the next retry. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Sessions whose due transition could not be stored yet. */
  private readonly failures = new Map<string, Failure>();
  private closed = false;
  /** Whether this process applies the session's timed transitions (every session, by default). */
  private timersHere: (sessionId: string) => boolean = () => true;

  constructor(plans: PlansRepo, audit: AuditRepo, log: Logger, now: () => number = Date.now) {
    super();
    this.plans = plans;
    this.audit = audit;
    this.log = log.child({ module: 'day-runner' });
    this.now = now;
  }

  /** With several nodes: timed transitions only where `timersHere` says (control actions anywhere). */
  gateTimers(timersHere: (sessionId: string) => boolean): void {
    this.timersHere = timersHere;
  }

  /** Restores every day from the database, catching up on deadlines that passed while down. */
  restore(): void {
    for (const stored of this.plans.days()) {
      this.days.set(stored.sessionId, stored);
      this.tick(stored.sessionId);
    }
  }

  create(sessionId: string, phases: PhaseSpec[]): DayRecord {
    const record = newDay(sessionId, phases);
    this.plans.saveDay(record);
    this.days.set(sessionId, record);
    return record;
  }

  /** The day of a session; one booked by another process (e.g. `npm run demo`) is loaded on first use. */
  get(sessionId: string): DayRecord | undefined {
    const known = this.days.get(sessionId);
    if (known) return known;
    const stored = this.plans.day(sessionId);
    if (!stored) return undefined;
    this.days.set(sessionId, stored);
    this.tick(sessionId);
    return this.days.get(sessionId);
  }

  /** Applies a control action (throws a typed CONFLICT when it is out of order, and the
   *  database's error when it cannot be stored: then nothing changed). */
  control(sessionId: string, actor: Participant, control: DayControl): DayRecord {
    // Judged again against the day as stored (pausing a day paused elsewhere is a CONFLICT).
    return this.onStoredDay(sessionId, () => this.controlOnce(sessionId, actor, control));
  }

  /** Runs `attempt`; if another process moved the day under it, takes the stored day and runs it once more. */
  private onStoredDay<T>(sessionId: string, attempt: () => T): T {
    try {
      return attempt();
    } catch (error) {
      if (!(error instanceof DayMovedElsewhere)) throw error;
      this.takeStored(sessionId);
      return attempt();
    }
  }

  private controlOnce(sessionId: string, actor: Participant, control: DayControl): DayRecord {
    const current = this.get(sessionId);
    if (!current) throw new Error(`session ${sessionId} has no assessment day`);
    const now = this.now();
    // A deadline that passed but is not stored yet (e.g. being retried) is applied first.
    const due = advanceDue(current, now);
    const next = applyControl(due, control, now);
    this.persist(current, next, [
      ...(due !== current ? [timerAudit(current, due)] : []),
      {
        sessionId,
        actorParticipantId: actor.id,
        action: `day.${control.action}`,
        detail: {
          role: actor.role,
          fromPhaseIndex: due.phaseIndex,
          toPhaseIndex: next.phaseIndex,
          ...('reason' in control ? { reason: control.reason } : {}),
          ...('seconds' in control ? { seconds: control.seconds } : {}),
        },
      },
    ]);
    this.applied(next);
    return next;
  }

  /** New phases for a day that has not started (changed adjustments). Stored, then announced;
   *  `inTransaction` runs inside the same transaction (the caller's audit row and plan). */
  replan(sessionId: string, phases: PhaseSpec[], inTransaction: () => void): DayRecord {
    // Started (or replanned) by another process meanwhile: judged again on the stored day.
    return this.onStoredDay(sessionId, () => this.replanOnce(sessionId, phases, inTransaction));
  }

  private replanOnce(sessionId: string, phases: PhaseSpec[], inTransaction: () => void): DayRecord {
    const current = this.get(sessionId);
    if (!current) throw new Error(`session ${sessionId} has no assessment day`);
    if (current.status !== 'waiting') throw new ProtocolFailure('CONFLICT', 'the day has started: its phases can no longer change');
    const next: DayRecord = { ...current, phases };
    this.plans.atomically(() => {
      // Only on the waiting day it was computed from: never over a day another process started.
      if (!this.plans.saveReplan(current, next)) throw new DayMovedElsewhere();
      inTransaction();
    });
    this.applied(next);
    return next;
  }

  /**
   * Another process stored a change of this day (PostgreSQL's notification): a day held here
   * takes the stored state and announces it; one not held here is read when first used.
   */
  refresh(sessionId: string): void {
    if (this.days.has(sessionId) && !this.closed) this.takeStored(sessionId);
  }

  /** Every day held here, as stored (notifications may have been missed). */
  refreshAll(): void {
    for (const sessionId of [...this.days.keys()]) {
      try {
        this.refresh(sessionId);
      } catch (error) {
        this.log.warn({ sessionId, err: errorText(error) }, 'reading a day again failed');
      }
    }
  }

  /** Faults to show on the live board for this session (empty when all is well). */
  alerts(sessionId: string): BoardAlert[] {
    const failure = this.failures.get(sessionId);
    if (!failure) return [];
    return [
      {
        code: 'DAY_TRANSITION_RETRYING',
        message: `The phase did not change at its deadline: the database refused to store it (${failure.reason}). Retrying automatically; everyone stays on the current phase until it is stored.`,
        since: failure.since,
        attempts: failure.attempts,
      },
    ];
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Stores whatever is due for this session and arms its next timer. Never throws. */
  private tick(sessionId: string): void {
    const current = this.days.get(sessionId);
    if (!current || this.closed) return;
    const next = advanceDue(current, this.now());
    if (next !== current) {
      if (!this.mayApplyTimers(sessionId)) {
        this.arm(sessionId, GATED_RECHECK_MS);
        return;
      }
      try {
        this.persist(current, next, [timerAudit(current, next)]);
      } catch (error) {
        if (error instanceof DayMovedElsewhere) this.afterMovedElsewhere(sessionId);
        else this.failed(sessionId, error);
        return;
      }
      this.applied(next);
      return;
    }
    this.recovered(sessionId);
    this.schedule(current);
  }

  private mayApplyTimers(sessionId: string): boolean {
    try {
      return this.timersHere(sessionId);
    } catch (error) {
      // Unknown (the database cannot say who holds it): applied here; storing it is compare-and-set.
      this.log.warn({ sessionId, err: errorText(error) }, 'who applies this day’s timers is unknown: applied here');
      return true;
    }
  }

  /** One transaction: the new day and its audit rows, or nothing (also when the stored day is no longer `from`). */
  private persist(from: DayRecord, record: DayRecord, audit: AuditInput[]): void {
    this.plans.atomically(() => {
      if (!this.plans.saveTransition(from, record)) throw new DayMovedElsewhere();
      for (const entry of audit) this.audit.append(entry);
    });
  }

  /** The day as stored, taken (remembered, re-armed, announced) if it differs from the one held here. */
  private takeStored(sessionId: string): 'gone' | 'unchanged' | 'taken' {
    const stored = this.plans.day(sessionId);
    if (!stored) {
      this.forget(sessionId);
      return 'gone';
    }
    const held = this.days.get(sessionId);
    if (held && sameDay(stored, held)) return 'unchanged';
    this.applied(stored);
    return 'taken';
  }

  /** A day no longer stored (its session was deleted elsewhere). */
  private forget(sessionId: string): void {
    this.days.delete(sessionId);
    this.failures.delete(sessionId);
    clearTimeout(this.timers.get(sessionId));
    this.timers.delete(sessionId);
  }

  /** A timed transition found the day moved elsewhere: take the stored day (never throws). */
  private afterMovedElsewhere(sessionId: string): void {
    try {
      // Stored as this process already had it, yet refused: not another runner's doing.
      // Retried with backoff like any refused transition, never in a tight loop.
      if (this.takeStored(sessionId) === 'unchanged') this.failed(sessionId, new Error('the stored day did not match the day it was computed from'));
    } catch (error) {
      this.failed(sessionId, error);
    }
  }

  /** Stored: now remember, re-arm and announce (a restart never loses a transition anyone has seen). */
  private applied(record: DayRecord): void {
    this.days.set(record.sessionId, record);
    this.recovered(record.sessionId);
    this.schedule(record);
    this.log.info({ sessionId: record.sessionId, status: record.status, phaseIndex: record.phaseIndex }, 'day changed');
    try {
      this.emit('changed', record);
    } catch (error) {
      // The transition is stored; a listener's fault must not make it look unapplied.
      this.log.error({ sessionId: record.sessionId, err: errorText(error) }, 'announcing a day change failed');
    }
  }

  private failed(sessionId: string, error: unknown): void {
    const previous = this.failures.get(sessionId);
    const failure: Failure = { since: previous?.since ?? this.now(), attempts: (previous?.attempts ?? 0) + 1, reason: dbReason(error) };
    this.failures.set(sessionId, failure);
    const delay = retryDelayMs(failure.attempts);
    // One line per attempt: backoff keeps this to a few lines a minute.
    this.log[previous ? 'warn' : 'error'](
      { sessionId, attempts: failure.attempts, retryInMs: delay, err: errorText(error) },
      'storing a timed day transition failed; retrying',
    );
    this.arm(sessionId, delay);
  }

  private recovered(sessionId: string): void {
    const failure = this.failures.get(sessionId);
    if (!failure) return;
    this.failures.delete(sessionId);
    this.log.warn({ sessionId, attempts: failure.attempts, failedForMs: this.now() - failure.since }, 'timed day transition stored after retrying');
  }

  private schedule(record: DayRecord): void {
    const wakeAt = nextWakeUp(record);
    if (wakeAt === null) {
      clearTimeout(this.timers.get(record.sessionId));
      this.timers.delete(record.sessionId);
      return;
    }
    this.arm(record.sessionId, Math.min(Math.max(0, wakeAt - this.now()), MAX_TIMER_MS));
  }

  private arm(sessionId: string, delay: number): void {
    clearTimeout(this.timers.get(sessionId));
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(sessionId);
      this.tick(sessionId);
    }, delay);
    timer.unref();
    this.timers.set(sessionId, timer);
  }
}

function sameDay(a: DayRecord, b: DayRecord): boolean {
  return (
    a.status === b.status &&
    a.phaseIndex === b.phaseIndex &&
    a.phaseStartedAt === b.phaseStartedAt &&
    a.deadline === b.deadline &&
    a.pausedAt === b.pausedAt &&
    JSON.stringify(a.phases) === JSON.stringify(b.phases)
  );
}

function timerAudit(from: DayRecord, to: DayRecord): AuditInput {
  return { sessionId: from.sessionId, job: 'day timer', action: 'day.timer', detail: { fromPhaseIndex: from.phaseIndex, toPhaseIndex: to.phaseIndex } };
}

function dbReason(error: unknown): string {
  return (storageErrorText(error) ?? errorText(error)).slice(0, 100);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
