// Two studio nodes on one PostgreSQL database and one Redis (REDIS_URL: Socket.IO's Redis
// adapter, server/cluster/redis-link.ts). What one node's people do reaches the people and the
// coordinator's board on the other: presence, the actor's signal to the lead observer, a newer
// connection replacing an older one, the lead observer's agreed ratings as they are written
// (stored once, by the node they were written to); a node that dies drops out of who is
// connected. A node starts only when it can reach the Redis it was told to use.
import { afterAll, expect, it } from 'vitest';
import type { BoardRow } from '../../shared/api.ts';
import type { LeadSignal, PresenceInfo } from '../../shared/protocol.ts';
import { agreedKey } from '../../shared/rubric.ts';
import { DocStore } from '../../server/collab/doc-store.ts';
import { loadConfig } from '../../server/config.ts';
import { openData } from '../../server/studio.ts';
import { pollUntil } from '../helpers/browser.ts';
import { collabUrl, RawCollabClient } from '../helpers/collab-client.ts';
import { studioEnv } from '../helpers/postgres.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startRedis } from '../helpers/redis.ts';
import {
  bookOnServer,
  cookieFor,
  dayControl,
  freePort,
  inviteOf,
  kill9,
  socketFor,
  startServerProcess,
  type ServerInvite,
  type ServerProcess,
  type ServerSocket,
} from '../helpers/server-process.ts';

const cluster = new TestCluster('redis-nodes');
const { dataDir, servers, sockets, collabClients } = cluster;
afterAll(() => cluster.close());

interface Heard {
  socket: ServerSocket;
  presence: PresenceInfo[];
  signals: LeadSignal[];
  replaced: number;
}

async function connect(server: ServerProcess, invite: ServerInvite): Promise<Heard> {
  const socket = await socketFor(server, invite);
  sockets.push(socket);
  const heard: Heard = { socket, presence: [], signals: [], replaced: 0 };
  socket.on('presence', (p) => heard.presence.push(p));
  socket.on('leadSignal', (s) => heard.signals.push(s));
  socket.on('sessionReplaced', () => heard.replaced++);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
  return heard;
}

const connectedIn = (heard: Heard): string[] => (heard.presence.at(-1)?.connected ?? []).map((p) => p.participantId).sort();

it('carries presence, signals, replaced connections and agreed ratings between nodes, and forgets a node that died', { timeout: 180_000 }, async () => {
  const redis = (cluster.redis = await startRedis());
  const [one, two] = [await freePort(), await freePort()];
  servers.push(await startServerProcess(dataDir, one, { REDIS_URL: redis.url }), await startServerProcess(dataDir, two, { REDIS_URL: redis.url }));
  const [nodeOne, nodeTwo] = servers as [ServerProcess, ServerProcess];
  const day = await bookOnServer(nodeOne, dataDir);
  const [lead, candidate, actor, coordinator] = (['leadObserver', 'candidate', 'actor', 'coordinator'] as const).map((role) => inviteOf(day, role));

  // The lead observer on node one hears of the candidate and the actor connecting to node two.
  const leadOnOne = await connect(nodeOne, lead!);
  const candidateOnTwo = await connect(nodeTwo, candidate!);
  const actorOnTwo = await connect(nodeTwo, actor!);
  const stage = [candidate!.participantId, actor!.participantId].sort();
  await expect.poll(() => connectedIn(leadOnOne), { timeout: 10_000 }).toEqual(stage);
  // And they of each other (the lead observer is hidden from them).
  await expect.poll(() => connectedIn(candidateOnTwo), { timeout: 10_000 }).toEqual([actor!.participantId]);

  // The actor's signal crosses to the lead observer, and says it was delivered.
  const reply = await new Promise((resolve) => actorOnTwo.socket.emit('signalLead', { kind: 'needPause' }, resolve));
  expect(reply).toEqual({ ok: true, data: { delivered: 1 } });
  await expect.poll(() => leadOnOne.signals.length, { timeout: 5_000 }).toBe(1);
  expect(leadOnOne.signals[0]).toMatchObject({ kind: 'needPause', from: { participantId: actor!.participantId } });

  // The coordinator's board on node one counts the people connected to node two.
  await dayControl(leadOnOne.socket, { action: 'start' }); // a live day is always on the board
  const cookie = await cookieFor(coordinator!.link, coordinator!.participantId);
  const board = async (): Promise<string[]> => {
    const res = await fetch(`${nodeOne.baseUrl}/api/studio/board?participantId=${coordinator!.participantId}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const row = ((await res.json()) as BoardRow[]).find((r) => r.sessionId === day.sessionId);
    return (row?.people ?? []).filter((p) => p.connected).map((p) => p.participantId).sort();
  };
  expect(await board()).toEqual([lead!.participantId, ...stage].sort());

  // The lead observer agrees a rating on node one: the observer reading the rubric on node two
  // sees it as soon as it is stored, and it is stored once (node two only passes it on).
  const rubric = `session/${day.sessionId}/rubric`;
  const openRubric = async (server: ServerProcess, invite: ServerInvite): Promise<RawCollabClient> => {
    const client = new RawCollabClient(collabUrl(server.baseUrl, rubric, invite.participantId), { cookie: await cookieFor(invite.link, invite.participantId) });
    collabClients.push(client);
    await client.synced;
    return client;
  };
  const leadRubric = await openRubric(nodeOne, lead!);
  const observerRubric = await openRubric(nodeTwo, inviteOf(day, 'observer'));
  leadRubric.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 3, rationale: 'agreed after discussion' });
  await expect.poll(() => observerRubric.serverView.getMap('agreed').get(agreedKey(1, 'kss-1')), { timeout: 10_000 }).toMatchObject({ rating: 3 });
  const data = openData(loadConfig({ ...studioEnv(dataDir) }));
  try {
    expect(new DocStore(data.db).updateCount(rubric)).toBe(1);
  } finally {
    data.db.close();
  }

  // The candidate opens the room again on node one: the older connection, on node two, ends.
  const candidateOnOne = await connect(nodeOne, candidate!);
  await expect.poll(() => candidateOnTwo.replaced, { timeout: 10_000 }).toBe(1);
  await expect.poll(() => candidateOnTwo.socket.connected, { timeout: 10_000 }).toBe(false);
  expect(candidateOnOne.socket.connected).toBe(true);

  // Node two dies: its people are no longer counted as connected anywhere.
  await kill9(nodeTwo);
  await pollUntil('the dead node to drop out of the board', 15_000, async () => !(await board()).includes(actor!.participantId));
  expect(await board()).toEqual([lead!.participantId, candidate!.participantId].sort());
});

it('refuses to start when the Redis it was given cannot be reached', { timeout: 120_000 }, async () => {
  const closedPort = await freePort();
  const started = startServerProcess(dataDir, await freePort(), { REDIS_URL: `redis://127.0.0.1:${closedPort}` });
  await expect(started).rejects.toThrow(/could not reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
});
