// Two studio processes on one PostgreSQL database: a day changed through one reaches the people
// connected to the other at once (LISTEN/NOTIFY, server/db/postgres/listener.ts), not only when
// a timer there finds the day moved. The lead observer controls the day on one process; the
// candidate, connected to the other, sees it start, pause and resume.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, expect, it } from 'vitest';
import type { DayControl, DayState } from '../../shared/assessment.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.ts';
import { TemplatesRepo } from '../../server/assessment/templates-repo.ts';
import { loadConfig } from '../../server/config.ts';
import { openAssessment, openData } from '../../server/studio.ts';
import { booking, hardBriefingThenSoft } from '../helpers/assessment.ts';
import { studioEnv } from '../helpers/postgres.ts';
import { cookieFor, freePort, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-two-processes-'));
const servers: ServerProcess[] = [];
const sockets: ClientSocket[] = [];

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const server of servers) await kill9(server);
});

async function connectTo(baseUrl: string, participantId: string, cookie: string): Promise<{ socket: ClientSocket; seen: DayState[] }> {
  const socket: ClientSocket = io(baseUrl, { auth: { participantId }, extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  const seen: DayState[] = [];
  socket.on('dayState', (s) => seen.push(s));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, seen };
}

function control(socket: ClientSocket, payload: DayControl): Promise<DayState> {
  return new Promise((resolve, reject) => socket.emit('dayControl', payload, (r) => (r.ok ? resolve(r.data) : reject(new Error(r.error.message)))));
}

it('shows the candidate on one process what the lead observer does on the other', { timeout: 120_000 }, async () => {
  expect(studioEnv(dataDir).DATABASE_URL, 'the postgres project gives each data directory a database').toBeDefined();
  const [one, two] = [await freePort(), await freePort()];
  servers.push(await startServerProcess(dataDir, one), await startServerProcess(dataDir, two));
  const [nodeOne, nodeTwo] = servers.map((s) => s.baseUrl) as [string, string];
  const data = openData(loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_PORT: String(one) }));
  const template = new TemplatesRepo(data.db).saveNewVersion(hardBriefingThenSoft('two-processes', 'Two processes', 600));
  const { participants } = openAssessment(data, pino({ level: 'silent' })).book(booking(template.id));
  const lead = participants.find((p) => p.role === 'leadObserver')!;
  const candidate = participants.find((p) => p.role === 'candidate')!;
  const leadOnOne = await connectTo(nodeOne, lead.id, await cookieFor(await data.invites.link(nodeOne, lead), lead.id));
  const candidateOnTwo = await connectTo(nodeTwo, candidate.id, await cookieFor(await data.invites.link(nodeTwo, candidate), candidate.id));
  await expect.poll(() => candidateOnTwo.seen.at(-1)?.status, { timeout: 10_000 }).toBe('waiting');

  const started = await control(leadOnOne.socket, { action: 'start' });
  await expect.poll(() => candidateOnTwo.seen.at(-1)?.status, { timeout: 5_000, interval: 50 }).toBe('running');
  // The same clock on both: the deadline the lead's process set.
  expect(candidateOnTwo.seen.at(-1)?.deadline).toBe(started.deadline);

  await control(leadOnOne.socket, { action: 'pause', reason: 'candidate unwell' });
  await expect.poll(() => candidateOnTwo.seen.at(-1)?.status, { timeout: 5_000, interval: 50 }).toBe('paused');
  const resumed = await control(leadOnOne.socket, { action: 'resume' });
  await expect.poll(() => candidateOnTwo.seen.at(-1)?.status, { timeout: 5_000, interval: 50 }).toBe('running');
  expect(candidateOnTwo.seen.at(-1)?.deadline).toBe(resumed.deadline);
  data.db.close();
});
