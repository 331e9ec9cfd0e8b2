// A day paused mid-phase survives a SIGKILL of the server: after the restart it is still
// paused with exactly the same time left, even though the phase's original deadline passed
// while the server was down (a restored "running" day would have skipped the phase); resume
// works, and the phase's timer then fires once, on the resumed deadline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { timeLeftMs, type DayState } from '../../shared/assessment.ts';
import { loadConfig } from '../../server/config.ts';
import type { AuditEntry } from '../../server/db/audit-repo.ts';
import { openData } from '../../server/studio.ts';
import {
  bookOnServer,
  dayControl,
  dayStateOnConnect,
  freePort,
  inviteOf,
  kill9,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.ts';
import { testTemplate } from '../helpers/assessment.ts';
import { studioEnv } from '../helpers/postgres.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-restart-paused-'));
let server: ServerProcess | undefined;

afterAll(async () => {
  if (server) await kill9(server);
});

/** Phase 0 is the hard phase under test; what follows is long, so nothing else moves. */
const HARD_SECONDS = 6;
const TEMPLATE = testTemplate('restart-paused', 'Restart while paused', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: HARD_SECONDS, timer: 'hard' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

/** The session's audit log as stored (read from the data directory, as a coordinator would see it). */
function auditOf(sessionId: string): AuditEntry[] {
  const data = openData(loadConfig({ ...studioEnv(dataDir)}));
  try {
    return data.audit.list(sessionId);
  } finally {
    data.db.close();
  }
}

it('stays paused across SIGKILL and restart with the same time left; resume works and the timer fires once', async () => {
  const port = await freePort();
  server = await startServerProcess(dataDir, port);
  const day = await bookOnServer(server, dataDir, TEMPLATE);
  const lead = inviteOf(day, 'leadObserver');

  const { socket: leadSocket } = await dayStateOnConnect(server, lead);
  const started = await dayControl(leadSocket, { action: 'start' });
  const paused = await dayControl(leadSocket, { action: 'pause', reason: 'candidate lost power' });
  leadSocket.disconnect();
  // (Start and pause are two round trips; a 6 s phase cannot end between them unless the
  // machine stalls for seconds, and then this says so plainly.)
  expect(paused).toMatchObject({ status: 'paused', phaseIndex: 0, deadline: started.deadline });
  const leftWhenPaused = timeLeftMs(paused, paused.serverNow)!;
  expect(leftWhenPaused).toBeGreaterThan(0);
  expect(leftWhenPaused).toBeLessThanOrEqual(HARD_SECONDS * 1000);

  await kill9(server);
  // Stay down until the phase's original deadline has passed on the real clock, so that a
  // restore that forgot the pause would catch up and leave phase 0.
  await expect.poll(() => Date.now() > started.deadline! + 500, { timeout: (HARD_SECONDS + 5) * 1000, interval: 100 }).toBe(true);
  server = await startServerProcess(dataDir, port);

  const candidate = inviteOf(day, 'candidate');
  const { state: restored, socket: candidateSocket } = await dayStateOnConnect(server, candidate);
  expect(restored).toMatchObject({ status: 'paused', phaseIndex: 0, deadline: paused.deadline, pausedAt: paused.pausedAt });
  expect(timeLeftMs(restored, restored.serverNow)).toBe(leftWhenPaused);
  expect(auditOf(day.sessionId).filter((e) => e.action === 'day.timer')).toEqual([]);

  // Every state the candidate hears from now on.
  const heard: DayState[] = [];
  candidateSocket.on('dayState', (s) => heard.push(s));

  const { socket: leadAgain } = await dayStateOnConnect(server, lead);
  const resumedAt = Date.now();
  const resumed = await dayControl(leadAgain, { action: 'resume' });
  expect(resumed).toMatchObject({ status: 'running', phaseIndex: 0 });
  // The pause gave the time back: the full time left, counted from the moment of resuming
  // (the server stamps the state a moment after it applied the resume).
  expect(resumed.deadline!).toBeGreaterThanOrEqual(resumedAt + leftWhenPaused);
  expect(Math.abs(timeLeftMs(resumed, resumed.serverNow)! - leftWhenPaused)).toBeLessThan(1000);

  // The timer ends phase 0 on its resumed deadline, not before.
  await expect.poll(() => heard.find((s) => s.phaseIndex === 1), { timeout: leftWhenPaused + 30_000, interval: 100 }).toBeTruthy();
  const next = heard.find((s) => s.phaseIndex === 1)!;
  expect(next).toMatchObject({ status: 'running', phaseStartedAt: resumed.deadline });
  expect(next.serverNow).toBeGreaterThanOrEqual(resumed.deadline!);

  // Once: one stored timer transition 0 → 1, one announcement of phase 1, and the day is
  // still in phase 1 when a fresh connection asks (a round trip after the transition; another
  // participant, since a second connection of the candidate would replace theirs).
  const timerRows = auditOf(day.sessionId).filter((e) => e.action === 'day.timer');
  expect(timerRows.map((e) => e.detail)).toEqual([expect.objectContaining({ fromPhaseIndex: 0, toPhaseIndex: 1 })]);
  const { state: now, socket: probe } = await dayStateOnConnect(server, inviteOf(day, 'observer'));
  probe.disconnect();
  expect(now).toMatchObject({ status: 'running', phaseIndex: 1 });
  expect(heard.filter((s) => s.phaseIndex === 1 && s.phaseStartedAt === resumed.deadline)).toHaveLength(1);
  expect(auditOf(day.sessionId).map((e) => e.action)).toEqual(expect.arrayContaining(['day.start', 'day.pause', 'day.resume', 'day.timer']));

  candidateSocket.disconnect();
  leadAgain.disconnect();
}, 180_000);
