// Runs every session's assessment day on the server clock: applies control actions, lets
// hard timers advance by themselves, persists every transition before announcing it, and
// rebuilds its timers from the database after a restart.
import { EventEmitter } from 'node:events';
import type { DayControl } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Logger } from '../log.ts';
import { advanceDue, applyControl, newDay, nextWakeUp, type DayRecord } from './day-machine.ts';
import type { PlansRepo } from './plans-repo.ts';
import type { PhaseSpec } from '../../shared/assessment.ts';

/** setTimeout cannot wait longer than this; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RunnerEvents {
  changed: [record: DayRecord];
}

export class DayRunner extends EventEmitter<RunnerEvents> {
  private readonly plans: PlansRepo;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly days = new Map<string, DayRecord>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(plans: PlansRepo, audit: AuditRepo, log: Logger, now: () => number = Date.now) {
    super();
    this.plans = plans;
    this.audit = audit;
    this.log = log.child({ module: 'day-runner' });
    this.now = now;
  }

  /** Restores every day from the database, catching up on deadlines that passed while down. */
  restore(): void {
    for (const stored of this.plans.days()) {
      this.days.set(stored.sessionId, stored);
      this.tick(stored.sessionId);
      this.schedule(this.days.get(stored.sessionId)!);
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
    this.schedule(this.days.get(sessionId)!);
    return this.days.get(sessionId);
  }

  /** Applies a control action (throws a typed CONFLICT when it is out of order). */
  control(sessionId: string, actor: Participant, control: DayControl): DayRecord {
    const current = this.get(sessionId);
    if (!current) throw new Error(`session ${sessionId} has no assessment day`);
    const next = applyControl(advanceDue(current, this.now()), control, this.now());
    this.commit(next);
    this.audit.append({
      sessionId,
      actorParticipantId: actor.id,
      action: `day.${control.action}`,
      detail: {
        role: actor.role,
        fromPhaseIndex: current.phaseIndex,
        toPhaseIndex: next.phaseIndex,
        ...('reason' in control ? { reason: control.reason } : {}),
        ...('seconds' in control ? { seconds: control.seconds } : {}),
      },
    });
    return next;
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private tick(sessionId: string): void {
    const current = this.days.get(sessionId);
    if (!current) return;
    const next = advanceDue(current, this.now());
    if (next === current) return;
    this.commit(next);
    this.audit.append({
      sessionId,
      action: 'day.timer',
      detail: { fromPhaseIndex: current.phaseIndex, toPhaseIndex: next.phaseIndex },
    });
  }

  /** Persist first, then announce: a restart never loses a transition anyone has seen. */
  private commit(record: DayRecord): void {
    this.plans.saveDay(record);
    this.days.set(record.sessionId, record);
    this.schedule(record);
    this.log.info({ sessionId: record.sessionId, status: record.status, phaseIndex: record.phaseIndex }, 'day changed');
    this.emit('changed', record);
  }

  private schedule(record: DayRecord): void {
    clearTimeout(this.timers.get(record.sessionId));
    this.timers.delete(record.sessionId);
    const wakeAt = nextWakeUp(record);
    if (wakeAt === null) return;
    const delay = Math.min(Math.max(0, wakeAt - this.now()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.timers.delete(record.sessionId);
      this.tick(record.sessionId);
      const latest = this.days.get(record.sessionId);
      if (latest && !this.timers.has(record.sessionId)) this.schedule(latest);
    }, delay);
    timer.unref();
    this.timers.set(record.sessionId, timer);
  }
}
