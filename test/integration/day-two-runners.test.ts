// Two runners of one assessment day on one database, as two studio processes (or nodes) would
// be: each transition is stored once, with one audit row, whichever runner gets there first;
// the other reads the day again instead of storing a second copy, and a control judged on a
// stale copy is judged again on the stored day.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { DayRunner } from '../../server/assessment/day-runner.ts';
import { PlansRepo } from '../../server/assessment/plans-repo.ts';
import { TemplatesRepo } from '../../server/assessment/templates-repo.ts';
import { SessionLeases } from '../../server/cluster/session-leases.ts';
import { loadConfig } from '../../server/config.ts';
import { openAssessment, openData } from '../../server/studio.ts';
import { booking, hardBriefingThenSoft } from '../helpers/assessment.ts';
import { studioEnv } from '../helpers/postgres.ts';

const silent = pino({ level: 'silent' });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-two-runners-'));
const config = loadConfig({ ...studioEnv(dataDir) });
// Two connections to one database: one per studio process.
const one = openData(config);
const two = openData(config);
const runners: DayRunner[] = [];
afterAll(() => {
  for (const runner of runners) runner.close();
  one.db.close();
  two.db.close();
});

/** A hard briefing long enough to load the day in both runners before its deadline, then soft phases. */
const TEMPLATE = hardBriefingThenSoft('two-runners', 'Two runners', 3);

/** A day booked on `template`, two runners of it (one per process), and its stored day. */
function dayWithTwoRunners(template: Parameters<TemplatesRepo['saveNewVersion']>[0]) {
  const saved = new TemplatesRepo(one.db).saveNewVersion(template);
  const { sessionId, participants } = openAssessment(one, silent).book(booking(saved.id));
  const lead = participants.find((p) => p.role === 'leadObserver')!;
  const a = new DayRunner(new PlansRepo(one.db), one.audit, silent);
  const b = new DayRunner(new PlansRepo(two.db), two.audit, silent);
  runners.push(a, b);
  return { sessionId, lead, a, b, stored: () => new PlansRepo(one.db).day(sessionId)! };
}

it('stores each transition once whichever runner gets there first, and judges a stale control again', { timeout: 60_000 }, async () => {
  const { sessionId, lead, a, b, stored } = dayWithTwoRunners(TEMPLATE);
  const rows = (action: string) => one.audit.list(sessionId).filter((e) => e.action === action);

  const started = a.control(sessionId, lead, { action: 'start' });
  // The other runner takes the day up too, and arms its own timer for the same deadline.
  expect(b.get(sessionId)).toEqual(started);

  // At the deadline both timers fire: the day moves on once.
  await expect.poll(() => stored().phaseIndex, { timeout: 20_000, interval: 100 }).toBe(1);
  await expect.poll(() => [a.get(sessionId)!.phaseIndex, b.get(sessionId)!.phaseIndex], { timeout: 10_000, interval: 100 }).toEqual([1, 1]);
  expect(stored().phaseStartedAt).toBe(started.deadline);
  expect(rows('day.timer')).toHaveLength(1);
  expect(rows('day.timer')[0]!.detail).toMatchObject({ fromPhaseIndex: 0, toPhaseIndex: 1 });
  expect(b.get(sessionId)).toEqual(stored());

  // One pauses; the other, not told, tries to pause too: judged on the stored day, refused.
  a.control(sessionId, lead, { action: 'pause', reason: 'candidate unwell' });
  expect(() => b.control(sessionId, lead, { action: 'pause', reason: 'candidate unwell' })).toThrow(/cannot pause while the day is paused/);
  expect(rows('day.pause')).toHaveLength(1);
  // It resumes (it has read the stored day); the first, now stale, cannot resume it again.
  b.control(sessionId, lead, { action: 'resume' });
  expect(() => a.control(sessionId, lead, { action: 'resume' })).toThrow(/the day is not paused/);
  expect(rows('day.resume')).toHaveLength(1);
  expect(stored().status).toBe('running');
  expect(a.get(sessionId)).toEqual(stored());
});

it('never replans over a day another runner started, and replans again on a day replanned elsewhere', { timeout: 60_000 }, () => {
  const { sessionId, lead, a, b, stored } = dayWithTwoRunners(hardBriefingThenSoft('two-runners-replan', 'Two runners replan', 600));
  const waiting = a.get(sessionId)!;
  expect(b.get(sessionId)).toEqual(waiting);
  const longer = waiting.phases.map((phase, i) => (i === 0 ? { ...phase, durationSeconds: 900 } : phase));
  const shorter = waiting.phases.map((phase, i) => (i === 0 ? { ...phase, durationSeconds: 300 } : phase));

  // Replanned by one; the other, holding the older plan, replans on top of the stored one.
  let inTransaction = 0;
  b.replan(sessionId, longer, () => inTransaction++);
  expect(stored().phases).toEqual(longer);
  a.replan(sessionId, shorter, () => inTransaction++);
  expect(stored().phases).toEqual(shorter);
  expect(inTransaction).toBe(2);

  // Started by one; the other, not told, may not replan it: refused, and the stored day stands.
  const started = b.control(sessionId, lead, { action: 'start' });
  expect(() => a.replan(sessionId, longer, () => inTransaction++)).toThrow(/the day has started/);
  expect(inTransaction).toBe(2);
  expect(stored()).toEqual(started);
  expect(a.get(sessionId)).toEqual(started);
});

it('with several nodes, leaves a day’s timers to the node holding its session, and takes them up once nobody holds it', { timeout: 60_000 }, async () => {
  const { sessionId, lead, a, b, stored } = dayWithTwoRunners(hardBriefingThenSoft('two-runners-gated', 'Two runners gated', 2));
  const rows = (action: string) => one.audit.list(sessionId).filter((e) => e.action === action);
  // Node A holds the session (a long lease: this test decides when it ends); B does not.
  const holder = new SessionLeases({ db: one.db, node: 'node-a', wanted: () => [sessionId], log: silent }, { ttlMs: 60_000, renewEveryMs: 1_000, keepMs: 60_000 });
  const other = new SessionLeases({ db: two.db, node: 'node-b', wanted: () => [], log: silent });
  holder.sweep();
  expect(holder.holds(sessionId)).toBe(true);
  a.gateTimers((id) => holder.actsFor(id));
  b.gateTimers((id) => other.actsFor(id));

  const started = b.control(sessionId, lead, { action: 'start' });
  expect(a.get(sessionId)).toEqual(started);
  // Node A dies before the deadline; its lease still stands. B leaves the due deadline alone.
  a.close();
  await new Promise((r) => setTimeout(r, Math.max(0, started.deadline! - Date.now()) + 2_000));
  expect(stored().phaseIndex).toBe(0);
  expect(rows('day.timer')).toHaveLength(0);
  // Once nobody holds the session, B applies the deadline (within its 1 s look again), once.
  holder.close();
  await expect.poll(() => stored().phaseIndex, { timeout: 10_000, interval: 100 }).toBe(1);
  expect(stored().phaseStartedAt).toBe(started.deadline);
  expect(rows('day.timer')).toHaveLength(1);
  other.close();
});
