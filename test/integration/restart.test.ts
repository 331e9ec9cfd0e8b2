// Kill -9 the server mid-phase and start it again: the day resumes in the same phase with
// the same time left (within 1 s), because every transition was persisted before it was sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { timeLeftMs } from '../../shared/assessment.ts';
import { bookOnServer, dayControl, dayStateOnConnect, freePort, inviteOf, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-restart-'));
let server: ServerProcess | undefined;

afterAll(async () => {
  if (server) await kill9(server);
});

it('restores phase and time left after SIGKILL and restart', async () => {
  const port = await freePort();
  server = await startServerProcess(dataDir, port);
  // The practitioner default: phases of many minutes, so nothing here races a deadline.
  const day = await bookOnServer(server, dataDir);

  const { socket: leadSocket } = await dayStateOnConnect(server, inviteOf(day, 'leadObserver'));
  const started = await dayControl(leadSocket, { action: 'start' });
  const advanced = await dayControl(leadSocket, { action: 'advance', fromPhaseIndex: started.phaseIndex });
  leadSocket.disconnect();
  expect(advanced.phases[advanced.phaseIndex]?.kind).toBe('scenario');

  // kill9 resolves once the process has exited: its listening port is free again.
  await kill9(server);
  server = await startServerProcess(dataDir, port);

  const { state, socket } = await dayStateOnConnect(server, inviteOf(day, 'candidate'));
  socket.disconnect();
  expect(state.status).toBe('running');
  expect(state.phaseIndex).toBe(advanced.phaseIndex);
  // The restored deadline is the stored one: the time left is the same, not restarted.
  expect(state.deadline).toBe(advanced.deadline);
  const expectedLeft = advanced.deadline! - Date.now();
  const restoredLeft = timeLeftMs(state, state.serverNow)! - (Date.now() - state.serverNow);
  expect(Math.abs(restoredLeft - expectedLeft)).toBeLessThan(1000);
}, 180_000);
