// Two studio nodes behind HAProxy running deploy/haproxy.cfg, on one PostgreSQL database and
// one Redis. A session's signalling and collaboration land on one node, routed by its id;
// when that node is killed (SIGKILL), its people reconnect through the balancer to the other
// node, which serves the day as stored (status, deadline) and the documents as acknowledged.
// Only the node holding the session's lease records it; the survivor takes the lease over
// (a higher fencing token) and records the phase again.
import { io } from 'socket.io-client';
import { afterAll, expect, it } from 'vitest';
import type { HealthResponse } from '../../shared/api.ts';
import { SESSION_ROUTING_PARAM } from '../../shared/protocol.ts';
import { agreedKey } from '../../shared/rubric.ts';
import { startHaproxy } from '../helpers/haproxy.ts';
import { collabUrl, RawCollabClient } from '../helpers/collab-client.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import {
  bookOnServer,
  cookieFor,
  dayControl,
  freePort,
  inviteOf,
  kill9,
  startServerProcess,
  type ServerInvite,
  type ServerProcess,
  type ServerSocket,
} from '../helpers/server-process.ts';

const cluster = new TestCluster('balancer');
const { dataDir, servers, sockets, collabClients } = cluster;
afterAll(() => cluster.close());

async function connections(server: ServerProcess): Promise<HealthResponse['connections']> {
  return ((await (await fetch(`${server.baseUrl}/api/health`)).json()) as HealthResponse).connections;
}

it('routes a session to one node, and to the other when that one dies, with its day and documents', { timeout: 240_000 }, async () => {
  const redis = (cluster.redis = await startRedis());
  const env = { REDIS_URL: redis.url };
  const names = ['node-1', 'node-2'];
  servers.push(
    await startServerProcess(dataDir, await freePort(), { ...env, SIMSTUDIO_NODE_NAME: names[0]! }),
    await startServerProcess(dataDir, await freePort(), { ...env, SIMSTUDIO_NODE_NAME: names[1]! }),
  );
  const db = connectToStudioDatabase(dataDir);
  cluster.onClose(() => db.close());
  const lease = (sessionId: string): unknown => db.prepare('SELECT node, token FROM session_leases WHERE session_id = ?').get(sessionId);
  const recordersStarted = (sessionId: string): number =>
    Number((db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE session_id = ? AND action = 'recording.started'").get(sessionId) as { n: number | bigint }).n);
  cluster.balancer = await startHaproxy([servers[0]!.baseUrl, servers[1]!.baseUrl]);
  const day = await bookOnServer(servers[0]!, dataDir);
  const [lead, candidate, actor] = (['leadObserver', 'candidate', 'actor'] as const).map((role) => inviteOf(day, role)) as [ServerInvite, ServerInvite, ServerInvite];

  // Everyone of the session on one node: signalling and the rubric alike.
  const people = [await cluster.throughBalancer(lead, day.sessionId), await cluster.throughBalancer(candidate, day.sessionId), await cluster.throughBalancer(actor, day.sessionId)];
  const rubric = `session/${day.sessionId}/rubric`;
  const openRubric = async (): Promise<RawCollabClient> => {
    const client = new RawCollabClient(collabUrl(cluster.balancer!.baseUrl, rubric, lead.participantId), { cookie: await cookieFor(cluster.viaBalancer(lead), lead.participantId) });
    collabClients.push(client);
    await client.synced;
    return client;
  };
  const leadRubric = await openRubric();
  const counts = await Promise.all(servers.map(connections));
  const owner = counts.findIndex((c) => c.signalling === 3);
  expect(owner, `connections per node: ${JSON.stringify(counts)}`).toBeGreaterThanOrEqual(0);
  expect(counts[owner]!.collab).toBe(1);
  expect(counts[1 - owner]).toEqual({ signalling: 0, collab: 0 });

  // The node its people are on holds the session (within a renewal, 1 s).
  await expect.poll(() => lease(day.sessionId), { timeout: 5_000, interval: 100 }).toEqual({ node: names[owner], token: 1 });

  // The day runs, into the first scenario: recorded by the node holding the session, and by it alone.
  await dayControl(people[0]!.socket, { action: 'start' });
  const started = await dayControl(people[0]!.socket, { action: 'advance', fromPhaseIndex: 0 });
  expect(started.phases[started.phaseIndex]!.kind).toBe('scenario');
  await expect.poll(() => people[1]!.recording.at(-1)?.state, { timeout: 10_000 }).toBe('recording');
  expect(recordersStarted(day.sessionId)).toBe(1);
  // An agreed rating is acknowledged (stored, and sent back).
  leadRubric.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 3, rationale: 'agreed after discussion' });
  await expect.poll(() => leadRubric.serverView.getMap('agreed').get(agreedKey(1, 'kss-1')), { timeout: 10_000 }).toMatchObject({ rating: 3 });

  // The node that holds the session dies. Within 10 s everyone is back, on the other node.
  const killedAt = Date.now();
  for (const person of people) {
    person.days.length = 0;
    person.recording.length = 0;
  }
  await kill9(servers[owner]!);
  const survivor = servers[1 - owner]!;
  await expect.poll(async () => (await connections(survivor)).signalling, { timeout: 10_000, interval: 200 }).toBe(3);
  expect(Date.now() - killedAt).toBeLessThan(10_000);
  // The day as stored: running, with the deadline it had (so every countdown shows the same time left).
  for (const person of people) {
    await expect.poll(() => person.days.at(-1)?.status, { timeout: 5_000 }).toBe('running');
    expect(person.days.at(-1)!.deadline).toBe(started.deadline);
  }
  // They see each other again (the lead observer, hidden, sees both).
  await expect
    .poll(() => (people[0]!.presence.at(-1)?.connected ?? []).map((p) => p.participantId).sort(), { timeout: 5_000 })
    .toEqual([candidate.participantId, actor.participantId].sort());
  // The rubric, opened again through the balancer, is on the survivor with the acknowledged rating.
  const reopened = await openRubric();
  expect(reopened.serverView.getMap('agreed').get(agreedKey(1, 'kss-1'))).toMatchObject({ rating: 3 });
  expect((await connections(survivor)).collab).toBe(1);
  // The survivor took the session's lease over (once the dead node's ran out: a higher token)
  // and records the scenario again (a new segment); the dead node's cut segments are its own
  // to complete when it comes back.
  await expect.poll(() => lease(day.sessionId), { timeout: 10_000, interval: 100 }).toEqual({ node: names[1 - owner], token: 2 });
  await expect.poll(() => people[1]!.recording.at(-1)?.state, { timeout: 10_000 }).toBe('recording');
  // (Once each: had the other node recorded too, there would be more.)
  await expect.poll(() => recordersStarted(day.sessionId), { timeout: 5_000 }).toBe(2);
});

it('refuses a connection routed by a session that is not the participant’s', { timeout: 60_000 }, async () => {
  const node = servers.find((s) => s.child.exitCode === null && s.child.signalCode === null)!;
  const day = await bookOnServer(node, dataDir);
  const candidate = inviteOf(day, 'candidate');
  const other = await bookOnServer(node, dataDir);
  const socket: ServerSocket = io(node.baseUrl, {
    auth: { participantId: candidate.participantId },
    query: { [SESSION_ROUTING_PARAM]: other.sessionId },
    extraHeaders: { cookie: await cookieFor(candidate.link, candidate.participantId) },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
  expect(error.message).toMatch(/names another session/);
});
