// Kill -9 the server mid-phase and start it again: the day resumes in the same phase with
// the same time left (within 1 s), because every transition was persisted before it was sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { timeLeftMs, type DayState } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.ts';
import { loadConfig } from '../../server/config.ts';
import { openData } from '../../server/studio.ts';
import { booking } from '../helpers/assessment.ts';
import { cookieFor, freePort, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import type { Socket } from 'socket.io-client';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-restart-'));
let server: ServerProcess | undefined;

afterAll(async () => {
  if (server) await kill9(server);
});


/** Connects and resolves with the dayState the server sends on connection. */
async function dayStateOnConnect(baseUrl: string, participantId: string, cookie: string): Promise<{ state: DayState; socket: Socket<ServerToClientEvents, ClientToServerEvents> }> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(baseUrl, {
    auth: { participantId },
    extraHeaders: { cookie },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const state = await new Promise<DayState>((resolve, reject) => {
    socket.once('dayState', resolve);
    socket.once('connect_error', reject);
  });
  return { state, socket };
}

it('restores phase and time left after SIGKILL and restart', async () => {
  const port = await freePort();
  server = await startServerProcess(dataDir, port);
  const config = loadConfig({ SIMSTUDIO_DATA_DIR: dataDir, SIMSTUDIO_PORT: String(port) });
  const data = openData(config);
  // A coordinator to book with (the studio's own data directory and secret).
  const { participants: staff } = data.sessions.create({ title: 'Staff', level: 'practitioner', participants: [{ role: 'coordinator', displayName: 'Cora' }] });
  const coordinator = staff[0]!;
  const coordinatorCookie = await cookieFor(await data.invites.link(server.baseUrl, coordinator), coordinator.id);
  const booked = await fetch(`${server.baseUrl}/api/studio/sessions?participantId=${coordinator.id}`, {
    method: 'POST',
    headers: { cookie: coordinatorCookie, 'content-type': 'application/json' },
    body: JSON.stringify(booking('practitioner', { actors: [{ displayName: 'Ada', scenarios: [1, 2, 3] }] })),
  });
  expect(booked.status).toBe(201);
  const { invites } = (await booked.json()) as { invites: Array<{ participantId: string; role: Participant['role']; link: string }> };
  const lead = invites.find((i) => i.role === 'leadObserver')!;
  const candidate = invites.find((i) => i.role === 'candidate')!;
  const leadCookie = await cookieFor(lead.link, lead.participantId);
  const candidateCookie = await cookieFor(candidate.link, candidate.participantId);

  const { socket: leadSocket } = await dayStateOnConnect(server.baseUrl, lead.participantId, leadCookie);
  const started = await new Promise<DayState>((resolve, reject) =>
    leadSocket.emit('dayControl', { action: 'start' }, (r) => (r.ok ? resolve(r.data) : reject(new Error(r.error.message)))),
  );
  const advanced = await new Promise<DayState>((resolve, reject) =>
    leadSocket.emit('dayControl', { action: 'advance', fromPhaseIndex: started.phaseIndex }, (r) => (r.ok ? resolve(r.data) : reject(new Error(r.error.message)))),
  );
  leadSocket.disconnect();
  expect(advanced.phases[advanced.phaseIndex]?.kind).toBe('scenario');

  await new Promise((r) => setTimeout(r, 1000));
  await kill9(server);
  await new Promise((r) => setTimeout(r, 500));
  server = await startServerProcess(dataDir, port);

  const { state, socket } = await dayStateOnConnect(server.baseUrl, candidate.participantId, candidateCookie);
  socket.disconnect();
  expect(state.status).toBe('running');
  expect(state.phaseIndex).toBe(advanced.phaseIndex);
  const expectedLeft = advanced.deadline! - Date.now();
  const restoredLeft = timeLeftMs(state, state.serverNow)! - (Date.now() - state.serverNow);
  expect(Math.abs(restoredLeft - expectedLeft)).toBeLessThan(1000);
  data.db.close();
}, 90_000);
