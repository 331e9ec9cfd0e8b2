import { describe, expect, it } from 'vitest';
import { plannedPhases, templateProblems, type PhaseSpec } from '../../shared/assessment.ts';
import { TemplateSchema } from '../../shared/assessment-schemas.ts';
import { advanceDue, applyControl, newDay, nextWakeUp } from '../../server/assessment/day-machine.ts';
import { DEFAULT_TEMPLATES, PRACTITIONER_TEMPLATE } from '../../server/assessment/default-templates.ts';

const phases: PhaseSpec[] = [
  { kind: 'briefing', scenario: 1, durationSeconds: 10, timer: 'hard' },
  { kind: 'scenario', scenario: 1, durationSeconds: 20, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 30, timer: 'soft' },
];
const T0 = 1_000_000;

describe('day machine', () => {
  it('hard timers advance by themselves, on the deadline clock, and soft timers wait', () => {
    const started = applyControl(newDay('s', phases), { action: 'start' }, T0);
    expect(started).toMatchObject({ status: 'running', phaseIndex: 0, phaseStartedAt: T0, deadline: T0 + 10_000 });
    expect(nextWakeUp(started)).toBe(T0 + 10_000);
    expect(advanceDue(started, T0 + 9_999)).toBe(started);

    // The server was away for 35 s: both hard phases ended on time, the soft one is running.
    const later = advanceDue(started, T0 + 35_000);
    expect(later).toMatchObject({ phaseIndex: 2, phaseStartedAt: T0 + 30_000, deadline: T0 + 60_000 });
    const overrun = advanceDue(later, T0 + 90_000);
    expect(overrun.phaseIndex).toBe(2);
    expect(nextWakeUp(overrun)).toBeNull();

    const done = applyControl(overrun, { action: 'advance', fromPhaseIndex: 2 }, T0 + 91_000);
    expect(done).toMatchObject({ status: 'complete', phaseIndex: 3, deadline: null });
  });

  it('pause freezes the countdown and resume moves the deadline by the pause', () => {
    const started = applyControl(newDay('s', phases), { action: 'start' }, T0);
    const paused = applyControl(started, { action: 'pause', reason: 'candidate connection dropped' }, T0 + 4_000);
    expect(advanceDue(paused, T0 + 60_000)).toBe(paused);
    const resumed = applyControl(paused, { action: 'resume' }, T0 + 64_000);
    expect(resumed).toMatchObject({ status: 'running', deadline: T0 + 70_000, pausedAt: null });
  });

  it('extend adds time, with a reason', () => {
    const started = applyControl(newDay('s', phases), { action: 'start' }, T0);
    expect(applyControl(started, { action: 'extend', seconds: 120, reason: 'fire alarm' }, T0 + 1).deadline).toBe(T0 + 130_000);
  });

  it('refuses out-of-order transitions and leaves the record unchanged', () => {
    const waiting = newDay('s', phases);
    expect(() => applyControl(waiting, { action: 'advance', fromPhaseIndex: -1 }, T0)).toThrow(/cannot advance while the day is waiting/);
    expect(() => applyControl(waiting, { action: 'resume' }, T0)).toThrow(/not paused/);
    const started = applyControl(waiting, { action: 'start' }, T0);
    expect(() => applyControl(started, { action: 'start' }, T0)).toThrow(/already started/);
    // A stale page (or a double click) asking to advance from a phase the day has left.
    expect(() => applyControl(started, { action: 'advance', fromPhaseIndex: 1 }, T0)).toThrow(/moved on/);
    expect(started.phaseIndex).toBe(0);
  });
});

describe('stopping a day early', () => {
  it('stops a running or paused day for good, where it was, with the clock stopped at the stop or the pause', () => {
    const started = applyControl(newDay('s', phases), { action: 'start' }, T0);
    const stopped = applyControl(started, { action: 'stop', reason: 'candidate unwell' }, T0 + 3_000);
    expect(stopped).toMatchObject({ status: 'stopped', phaseIndex: 0, phaseStartedAt: T0, deadline: null, pausedAt: T0 + 3_000 });
    // No timer moves it on.
    expect(nextWakeUp(stopped)).toBeNull();
    expect(advanceDue(stopped, T0 + 3_600_000)).toBe(stopped);

    const paused = applyControl(started, { action: 'pause', reason: 'fire alarm' }, T0 + 4_000);
    expect(applyControl(paused, { action: 'stop', reason: 'building closed' }, T0 + 60_000)).toMatchObject({ status: 'stopped', deadline: null, pausedAt: T0 + 4_000 });
  });

  it('refuses to stop a day that has not started or is over, and refuses every action after a stop', () => {
    const waiting = newDay('s', phases);
    expect(() => applyControl(waiting, { action: 'stop', reason: 'x' }, T0)).toThrow(/not started: cancel the booking instead/);
    const started = applyControl(waiting, { action: 'start' }, T0);
    const complete = [0, 1, 2].reduce((r, i) => applyControl(r, { action: 'advance', fromPhaseIndex: i }, T0 + i), started);
    expect(complete.status).toBe('complete');
    expect(() => applyControl(complete, { action: 'stop', reason: 'x' }, T0)).toThrow(/complete: it cannot be stopped/);
    const stopped = applyControl(started, { action: 'stop', reason: 'x' }, T0 + 1);
    for (const control of [
      { action: 'start' },
      { action: 'advance', fromPhaseIndex: 0 },
      { action: 'pause', reason: 'x' },
      { action: 'resume' },
      { action: 'extend', seconds: 60, reason: 'x' },
      { action: 'stop', reason: 'x' },
    ] as const) {
      expect(() => applyControl(stopped, control, T0 + 2)).toThrow();
    }
  });
});

describe('templates', () => {
  it('the default templates are valid', () => {
    for (const t of DEFAULT_TEMPLATES) expect(TemplateSchema.parse(t)).toEqual(t);
  });

  it('explains invalid phase orders', () => {
    expect(
      templateProblems({
        scenarioCount: 2,
        phases: [
          { kind: 'scenario', scenario: 1, durationSeconds: 60, timer: 'hard' },
          { kind: 'reflectiveConversation', durationSeconds: 60, timer: 'soft' },
        ],
      }),
    ).toEqual([
      'phase 1 (scenario) needs its briefing first',
      'phase 2 (reflectiveConversation) must follow the last scenario',
      'the template must run all 2 scenarios',
    ]);
    expect(TemplateSchema.safeParse({ ...PRACTITIONER_TEMPLATE, phases: [] }).success).toBe(false);
  });

  it('a template may choose the scored domains of its level’s framework, and only those', () => {
    expect(TemplateSchema.safeParse({ ...PRACTITIONER_TEMPLATE, scoredDomains: ['kss-1', 'kss-5'] }).success).toBe(true);
    const wrong = TemplateSchema.safeParse({ ...PRACTITIONER_TEMPLATE, scoredDomains: ['kss-ps-1'] });
    expect(wrong.success).toBe(false);
    expect(JSON.stringify(wrong.error?.issues)).toMatch(/not a domain of the practitioner framework/);
  });

  it('extra time stretches reading and writing, rest breaks come before later briefings', () => {
    const planned = plannedPhases(PRACTITIONER_TEMPLATE, { extraTimePercent: 25, restBreakMinutes: 5, notes: '' });
    expect(planned.map((p) => p.kind)).toEqual([
      'briefing', 'scenario', 'break', 'briefing', 'scenario', 'writtenExercise', 'break', 'briefing', 'scenario', 'reflectiveConversation',
    ]);
    expect(planned[0]!.durationSeconds).toBe(750);
    expect(planned[1]!.durationSeconds).toBe(600);
    expect(planned[5]!.durationSeconds).toBe(2250);
  });
});
