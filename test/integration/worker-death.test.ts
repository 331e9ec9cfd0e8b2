// A mediasoup worker killed mid-session: the server survives, a new worker replaces it, the
// session's room is rebuilt on it, and clients are told to rejoin (and can).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import type { HealthResponse } from '../../shared/api.ts';
import { byRole, connectAs, createSession, joinAndProduceVideo, request, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;

beforeAll(async () => {
  studio = await startTestStudio();
});

afterAll(async () => {
  await studio.close();
});

async function health(): Promise<HealthResponse> {
  return (await (await fetch(`${studio.baseUrl}/api/health`)).json()) as HealthResponse;
}

it('replaces a killed worker, rebuilds the room and tells clients to rejoin', async () => {
  const { participants } = createSession(studio);
  const actor = await connectAs(studio, byRole(participants, 'actor'));
  const candidate = await connectAs(studio, byRole(participants, 'candidate'));
  await joinAndProduceVideo(actor, 3333);
  expect((await request(candidate, 'join', { protocolVersion: PROTOCOL_VERSION })).ok).toBe(true);

  const before = await health();
  expect(before.mediasoup.pids).toHaveLength(1);
  const [deadPid] = before.mediasoup.pids;

  const resets = Promise.all([actor, candidate].map((s) => new Promise((resolve) => s.once('mediaReset', resolve))));
  process.kill(deadPid!, 'SIGKILL');
  expect(await resets).toEqual([{ reason: 'worker-died' }, { reason: 'worker-died' }]);

  const after = await health();
  expect(after).toMatchObject({ status: 'ok', mediasoup: { workers: 1 } });
  expect(after.mediasoup.pids[0]).not.toBe(deadPid);

  // Rejoining works on the new worker, media flows through new producers.
  const newProducer = await joinAndProduceVideo(actor, 4444);
  const rejoin = await request(candidate, 'join', { protocolVersion: PROTOCOL_VERSION });
  if (!rejoin.ok) throw new Error(rejoin.error.message);
  expect(rejoin.data.producers.map((p) => p.producerId)).toEqual([newProducer]);
  expect(studio.logLines.some((l) => l.msg === 'mediasoup worker died; replacing it')).toBe(true);
});
