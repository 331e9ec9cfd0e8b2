// Several nodes, one session: a person whose connection lands on a node that does not hold the
// session (a balancer whose routing differs, a reconnect mid-failover) is passed on to the node
// that does, so the whole call stays on one media router; once that node is gone, the node they
// land on serves them itself and takes the session over.
import { io } from 'socket.io-client';
import { afterAll, expect, it } from 'vitest';
import type { HealthResponse } from '../../shared/api.ts';
import { SESSION_ROUTING_PARAM } from '../../shared/protocol.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import { bookOnServer, cookieFor, freePort, inviteOf, kill9, startServerProcess, type ServerInvite, type ServerProcess, type ServerSocket } from '../helpers/server-process.ts';

const cluster = new TestCluster('session-proxy');
const { dataDir, servers, sockets } = cluster;
afterAll(() => cluster.close());

async function signalling(server: ServerProcess): Promise<number> {
  return ((await (await fetch(`${server.baseUrl}/api/health`)).json()) as HealthResponse).connections.signalling;
}

/** A room page's socket straight to one node (no balancer), reconnecting as a page does. */
async function connectTo(server: ServerProcess, invite: ServerInvite, sessionId: string): Promise<ServerSocket> {
  const socket: ServerSocket = io(server.baseUrl, {
    auth: { participantId: invite.participantId },
    query: { [SESSION_ROUTING_PARAM]: sessionId },
    extraHeaders: { cookie: await cookieFor(invite.link, invite.participantId) },
    transports: ['websocket'],
    reconnectionDelay: 200,
    reconnectionDelayMax: 1000,
    forceNew: true,
  });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

it('passes a person who lands on the wrong node to the node holding their session; serves them itself once that one is gone', { timeout: 180_000 }, async () => {
  const redis = (cluster.redis = await startRedis());
  const names = ['node-1', 'node-2'];
  for (const name of names) {
    const port = await freePort();
    servers.push(await startServerProcess(dataDir, port, { REDIS_URL: redis.url, SIMSTUDIO_NODE_NAME: name, SIMSTUDIO_NODE_ADDRESS: `http://127.0.0.1:${port}` }));
  }
  const [holder, other] = servers as [ServerProcess, ServerProcess];
  const db = connectToStudioDatabase(dataDir);
  cluster.onClose(() => db.close());
  const lease = (sessionId: string): unknown => db.prepare('SELECT node, token FROM session_leases WHERE session_id = ?').get(sessionId);
  const day = await bookOnServer(holder, dataDir);
  const [lead, candidate, actor] = (['leadObserver', 'candidate', 'actor'] as const).map((role) => inviteOf(day, role)) as [ServerInvite, ServerInvite, ServerInvite];

  await connectTo(holder, lead, day.sessionId);
  await connectTo(holder, actor, day.sessionId);
  await expect.poll(() => lease(day.sessionId), { timeout: 5_000, interval: 100 }).toEqual({ node: 'node-1', token: 1 });

  // The candidate lands on the other node: it passes the connection on to the holder.
  const misrouted = await connectTo(other, candidate, day.sessionId);
  expect(await signalling(holder)).toBe(3);
  expect(await signalling(other)).toBe(0);
  const joined = await misrouted.timeout(10_000).emitWithAck('join', { protocolVersion: 1 });
  expect(joined.ok).toBe(true);
  // Still held by the first node (the other has nobody of the session to take it for).
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect(lease(day.sessionId)).toEqual({ node: 'node-1', token: 1 });

  // The holder dies: the candidate's connection drops with it, comes back to the node it
  // reaches, which now serves the candidate itself and takes the session over.
  await kill9(holder);
  await expect.poll(() => signalling(other), { timeout: 15_000, interval: 200 }).toBe(1);
  await expect.poll(() => misrouted.connected, { timeout: 5_000 }).toBe(true);
  await expect.poll(() => lease(day.sessionId), { timeout: 15_000, interval: 200 }).toEqual({ node: 'node-2', token: 2 });
});
