// The assessment day as a pure state machine: given the current record, a control action or
// the passing of time, and "now", it returns the next record. No I/O here; the DayRunner
// persists every record it returns and schedules the next hard deadline.
import type { DayControl, DayStatus, PhaseSpec } from '../../shared/assessment.ts';
import { ProtocolFailure } from '../../shared/errors.ts';

export interface DayRecord {
  sessionId: string;
  status: DayStatus;
  phases: PhaseSpec[];
  phaseIndex: number;
  phaseStartedAt: number | null;
  deadline: number | null;
  pausedAt: number | null;
}

export function newDay(sessionId: string, phases: PhaseSpec[]): DayRecord {
  return { sessionId, status: 'waiting', phases, phaseIndex: -1, phaseStartedAt: null, deadline: null, pausedAt: null };
}

function enterPhase(record: DayRecord, index: number, startedAt: number): DayRecord {
  const phase = record.phases[index];
  if (!phase) {
    return { ...record, status: 'complete', phaseIndex: record.phases.length, phaseStartedAt: startedAt, deadline: null, pausedAt: null };
  }
  return {
    ...record,
    status: 'running',
    phaseIndex: index,
    phaseStartedAt: startedAt,
    deadline: startedAt + phase.durationSeconds * 1000,
    pausedAt: null,
  };
}

/** Applies a lead observer's (or coordinator's) control action; refuses what is out of order. */
export function applyControl(record: DayRecord, control: DayControl, now: number): DayRecord {
  switch (control.action) {
    case 'start':
      if (record.status !== 'waiting') throw new ProtocolFailure('CONFLICT', 'the day has already started');
      return enterPhase(record, 0, now);
    case 'advance':
      if (record.status !== 'running') throw new ProtocolFailure('CONFLICT', `cannot advance while the day is ${record.status}`);
      if (control.fromPhaseIndex !== record.phaseIndex) {
        throw new ProtocolFailure('CONFLICT', 'the day has moved on since this page was updated; nothing was changed');
      }
      return enterPhase(record, record.phaseIndex + 1, now);
    case 'pause':
      if (record.status !== 'running') throw new ProtocolFailure('CONFLICT', `cannot pause while the day is ${record.status}`);
      return { ...record, status: 'paused', pausedAt: now };
    case 'resume': {
      if (record.status !== 'paused' || record.pausedAt === null || record.deadline === null) {
        throw new ProtocolFailure('CONFLICT', 'the day is not paused');
      }
      // The pause does not eat the phase's time: the deadline moves by the pause's length.
      return { ...record, status: 'running', deadline: record.deadline + (now - record.pausedAt), pausedAt: null };
    }
    case 'extend':
      if ((record.status !== 'running' && record.status !== 'paused') || record.deadline === null) {
        throw new ProtocolFailure('CONFLICT', `cannot extend while the day is ${record.status}`);
      }
      return { ...record, deadline: record.deadline + control.seconds * 1000 };
    case 'stop':
      if (record.status !== 'running' && record.status !== 'paused') {
        throw new ProtocolFailure('CONFLICT', record.status === 'waiting' ? 'the day has not started: cancel the booking instead' : `the day is ${record.status}: it cannot be stopped`);
      }
      // Where it stopped stays (the phase, its start); the clock stops for good, at the pause if paused.
      return { ...record, status: 'stopped', deadline: null, pausedAt: record.pausedAt ?? now };
  }
}

/**
 * Lets time pass: every hard phase whose deadline is at or before `now` ends, and the next
 * phase starts at that deadline (not at `now`), so that a server that was down for a while
 * resumes on the same clock everyone else was on. Soft phases wait for the lead observer.
 */
export function advanceDue(record: DayRecord, now: number): DayRecord {
  let current = record;
  while (current.status === 'running' && current.deadline !== null && current.deadline <= now) {
    const phase = current.phases[current.phaseIndex];
    if (!phase || phase.timer === 'soft') break;
    current = enterPhase(current, current.phaseIndex + 1, current.deadline);
  }
  return current;
}

/** When the runner must next look at this day: the next hard deadline, if any. */
export function nextWakeUp(record: DayRecord): number | null {
  if (record.status !== 'running' || record.deadline === null) return null;
  return record.phases[record.phaseIndex]?.timer === 'hard' ? record.deadline : null;
}
