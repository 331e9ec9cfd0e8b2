// Issue 11, row 9: a database lock held across a hard deadline for longer than the busy
// timeout used to throw from the day timer and end the server. Now the server stays up, the
// coordinator's board shows an alert while the transition is retried, and once the lock is
// released the transition is stored exactly once, at the deadline's time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, expect, it } from 'vitest';
import type { BoardRow } from '../../shared/api.ts';
import type { DayState } from '../../shared/assessment.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.ts';
import { TemplatesRepo } from '../../server/assessment/templates-repo.ts';
import { loadConfig } from '../../server/config.ts';
import { openAssessment, openData } from '../../server/studio.ts';
import { booking, hardBriefingThenSoft } from '../helpers/assessment.ts';
import { cookieFor, freePort, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { holdWriteLock, studioEnv } from '../helpers/postgres.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-day-timer-'));
let server: ServerProcess | undefined;
let lock: { release(): void } | undefined;
let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;

afterAll(async () => {
  socket?.disconnect();
  lock?.release();
  if (server) await kill9(server);
});

/** One hard phase (long enough to take the lock before its deadline), then only soft ones. */
const TEMPLATE = hardBriefingThenSoft('lock-across-deadline', 'Lock across a deadline', 6);

it('survives a write lock held across a hard deadline, alerts the board, and applies the transition exactly once', { timeout: 120_000 }, async () => {
  const port = await freePort();
  server = await startServerProcess(dataDir, port);
  const data = openData(loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_PORT: String(port) }));
  const template = new TemplatesRepo(data.db).saveNewVersion(TEMPLATE);
  const { sessionId, participants } = openAssessment(data, pino({ level: 'silent' })).book(booking(template.id));
  const lead = participants.find((p) => p.role === 'leadObserver')!;
  const coordinator = participants.find((p) => p.role === 'coordinator')!;
  const baseUrl = server.baseUrl;
  const leadCookie = await cookieFor(await data.invites.link(baseUrl, lead), lead.id);
  const coordinatorCookie = await cookieFor(await data.invites.link(baseUrl, coordinator), coordinator.id);

  const board = async (): Promise<BoardRow | undefined> => {
    const res = await fetch(`${baseUrl}/api/studio/board?participantId=${coordinator.id}`, { headers: { cookie: coordinatorCookie } });
    if (!res.ok) return undefined;
    return ((await res.json()) as BoardRow[]).find((r) => r.sessionId === sessionId);
  };
  const stored = () => {
    const row = data.db.prepare('SELECT phase_index, phase_started_at FROM assessment_days WHERE session_id = ?').get(sessionId) as { phase_index: number; phase_started_at: number };
    return { phaseIndex: row.phase_index, phaseStartedAt: row.phase_started_at };
  };
  const timerRows = () => data.audit.list(sessionId).filter((e) => e.action === 'day.timer');

  socket = io(baseUrl, { auth: { participantId: lead.id }, extraHeaders: { cookie: leadCookie }, transports: ['websocket'], reconnection: false, forceNew: true });
  const seen: DayState[] = [];
  socket.on('dayState', (s) => seen.push(s));
  await new Promise<void>((resolve, reject) => {
    socket!.once('connect', () => resolve());
    socket!.once('connect_error', reject);
  });
  const started = await new Promise<DayState>((resolve, reject) =>
    socket!.emit('dayControl', { action: 'start' }, (r) => (r.ok ? resolve(r.data) : reject(new Error(r.error.message)))),
  );
  const deadline = started.deadline!;

  // A second connection takes the write lock before the deadline and holds it.
  lock = holdWriteLock(dataDir);
  expect(Date.now()).toBeLessThan(deadline);

  // The first attempt waits out the 5 s busy timeout and fails; the board says so, and keeps
  // saying so across retries.
  await expect
    .poll(async () => (await board())?.alerts.find((a) => a.code === 'DAY_TRANSITION_RETRYING')?.attempts ?? 0, { timeout: 60_000, interval: 250 })
    .toBeGreaterThanOrEqual(2);
  expect(Date.now() - deadline).toBeGreaterThan(5000);
  expect(server.child.exitCode).toBeNull();
  expect((await fetch(`${baseUrl}/api/health`)).ok).toBe(true);
  expect((await board())?.day?.phaseIndex).toBe(0); // nobody was told of a transition that is not stored
  expect(seen.every((s) => s.phaseIndex <= 0)).toBe(true); // waiting (-1) on connect, then phase 0

  lock.release();
  lock = undefined;

  await expect.poll(() => stored().phaseIndex, { timeout: 60_000, interval: 100 }).toBe(1);
  // At the deadline's time (everyone's clock), not when the retry got through; exactly once.
  expect(stored().phaseStartedAt).toBe(deadline);
  await expect.poll(async () => (await board())?.alerts.length, { timeout: 30_000, interval: 250 }).toBe(0);
  await expect.poll(() => seen.at(-1)?.phaseIndex, { timeout: 10_000 }).toBe(1);
  expect(timerRows()).toHaveLength(1);
  expect(timerRows()[0]!.detail).toMatchObject({ fromPhaseIndex: 0, toPhaseIndex: 1 });
  expect(stored().phaseIndex).toBe(1);
  expect(server.child.exitCode).toBeNull();
  data.db.close();
});
