// A node that stalls (SIGSTOP) past its session's lease while some of the session's people stay
// connected to it: one person reconnects meanwhile, the balancer sends them to the other node,
// which takes the session over. When the stalled node wakes up it finds the lease taken and
// drops its own connections of that session, so everyone reconnects through the balancer to the
// node now serving it: the call is not left split across two nodes' media routers.
import { afterAll, expect, it } from 'vitest';
import type { HealthResponse } from '../../shared/api.ts';
import { SESSION_ROUTING_PARAM } from '../../shared/protocol.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startHaproxy } from '../helpers/haproxy.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import { bookOnServer, freePort, inviteOf, startServerProcess, type ServerInvite, type ServerProcess } from '../helpers/server-process.ts';

const cluster = new TestCluster('lease-taken');
const { dataDir, servers } = cluster;
let stopped: ServerProcess | undefined;
afterAll(async () => {
  stopped?.child.kill('SIGCONT');
  await cluster.close();
});

async function signalling(server: ServerProcess): Promise<number> {
  return ((await (await fetch(`${server.baseUrl}/api/health`)).json()) as HealthResponse).connections.signalling;
}

it('sends the people still on a stalled node to the node that took their session over', { timeout: 180_000 }, async () => {
  const redis = (cluster.redis = await startRedis());
  const names = ['node-1', 'node-2'];
  for (const name of names) {
    const port = await freePort();
    servers.push(await startServerProcess(dataDir, port, { REDIS_URL: redis.url, SIMSTUDIO_NODE_NAME: name, SIMSTUDIO_NODE_ADDRESS: `http://127.0.0.1:${port}` }));
  }
  const db = connectToStudioDatabase(dataDir);
  cluster.onClose(() => db.close());
  const lease = (sessionId: string): unknown => db.prepare('SELECT node, token FROM session_leases WHERE session_id = ?').get(sessionId);
  const balancer = (cluster.balancer = await startHaproxy([servers[0]!.baseUrl, servers[1]!.baseUrl]));
  const day = await bookOnServer(servers[0]!, dataDir);
  const [lead, candidate, actor] = (['leadObserver', 'candidate', 'actor'] as const).map((role) => inviteOf(day, role)) as [ServerInvite, ServerInvite, ServerInvite];
  const people = [await cluster.throughBalancer(lead, day.sessionId), await cluster.throughBalancer(candidate, day.sessionId), await cluster.throughBalancer(actor, day.sessionId)];
  const counts = await Promise.all(servers.map(signalling));
  const owner = counts.indexOf(3);
  expect(owner, `connections per node: ${JSON.stringify(counts)}`).toBeGreaterThanOrEqual(0);
  const holder = servers[owner]!;
  const other = servers[1 - owner]!;
  await expect.poll(() => lease(day.sessionId), { timeout: 5_000, interval: 100 }).toEqual({ node: names[owner], token: 1 });

  // The holder stalls. Its people's connections stay open (nothing tells them), until the
  // balancer, its health checks unanswered, routes the session elsewhere: a request routed by the
  // session then gets an answer (from the other node), which also sticks the session there.
  holder.child.kill('SIGSTOP');
  stopped = holder;
  await expect
    .poll(
      async () => {
        try {
          const probe = await fetch(`${balancer.baseUrl}/socket.io/?EIO=4&transport=polling&${SESSION_ROUTING_PARAM}=${day.sessionId}`, { signal: AbortSignal.timeout(500) });
          return probe.status;
        } catch {
          return 0;
        }
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(200);
  // The candidate's page reconnects (say, a reload): on the other node, which takes the session
  // over once the stalled holder's lease has run out.
  people[1]!.socket.disconnect();
  people[1]!.socket.connect();
  await expect.poll(() => signalling(other), { timeout: 15_000, interval: 200 }).toBe(1);
  await expect.poll(() => lease(day.sessionId), { timeout: 15_000, interval: 200 }).toEqual({ node: names[1 - owner], token: 2 });

  // The holder wakes: it finds the lease taken and sends the lead and the actor over too.
  const reconnects = people.map((p) => {
    let n = 0;
    p.socket.io.on('reconnect', () => n++);
    return () => n;
  });
  holder.child.kill('SIGCONT');
  stopped = undefined;
  await expect.poll(() => signalling(other), { timeout: 20_000, interval: 200 }).toBe(3);
  expect(await signalling(holder)).toBe(0);
  expect(reconnects[0]!()).toBeGreaterThanOrEqual(1);
  expect(reconnects[2]!()).toBeGreaterThanOrEqual(1);
  for (const person of people) expect(person.socket.connected).toBe(true);
  // And the session stays where it went (no lease taken back and forth).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(lease(day.sessionId)).toEqual({ node: names[1 - owner], token: 2 });
  expect(await signalling(other)).toBe(3);
});
