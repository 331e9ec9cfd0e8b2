// The written exercise across a node's death: two studio nodes behind HAProxy (deploy/haproxy.cfg),
// one PostgreSQL, one Redis. The candidate writes through the balancer on the node holding the
// session; that node is SIGKILLed mid-exercise. Through the balancer again, the other node serves
// every acknowledged word, keeps writing open until the stored deadline, and acknowledges more.
import { afterAll, expect, it } from 'vitest';
import { WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import { plainText } from '../../shared/written-text.ts';
import { testTemplate } from '../helpers/assessment.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { RawCollabClient, collabUrl, typeParagraph } from '../helpers/collab-client.ts';
import { startHaproxy } from '../helpers/haproxy.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import { bookOnServer, cookieFor, dayControl, freePort, inviteOf, kill9, startServerProcess } from '../helpers/server-process.ts';

const cluster = new TestCluster('failover-written');
afterAll(() => cluster.close());

const WRITTEN_INDEX = 4;
const TEMPLATE = testTemplate('failover-written', 'Failover written test', 2, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'briefing', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 1200, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

it('keeps every acknowledged word of the written exercise when the node holding the session dies, and writing goes on', { timeout: 240_000 }, async () => {
  const redis = (cluster.redis = await startRedis());
  const names = ['node-1', 'node-2'];
  for (const name of names) cluster.servers.push(await startServerProcess(cluster.dataDir, await freePort(), { REDIS_URL: redis.url, SIMSTUDIO_NODE_NAME: name }));
  cluster.balancer = await startHaproxy([cluster.servers[0]!.baseUrl, cluster.servers[1]!.baseUrl]);
  const db = connectToStudioDatabase(cluster.dataDir);
  cluster.onClose(() => db.close());

  const day = await bookOnServer(cluster.servers[0]!, cluster.dataDir, TEMPLATE);
  const lead = await cluster.throughBalancer(inviteOf(day, 'leadObserver'), day.sessionId);
  let state = await dayControl(lead.socket, { action: 'start' });
  while (state.phaseIndex < WRITTEN_INDEX) state = await dayControl(lead.socket, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  expect(state.phases[state.phaseIndex]!.kind).toBe('writtenExercise');

  const candidate = inviteOf(day, 'candidate');
  const cookie = await cookieFor(cluster.viaBalancer(candidate), candidate.participantId);
  const openWritten = async (): Promise<RawCollabClient> => {
    const client = new RawCollabClient(collabUrl(cluster.balancer!.baseUrl, collabDocName(day.sessionId, 'written'), candidate.participantId), { cookie });
    cluster.collabClients.push(client);
    await client.synced;
    return client;
  };
  const acknowledged = (client: RawCollabClient) => plainText(client.serverView.getXmlFragment(WRITTEN_FRAGMENT));
  const writer = await openWritten();
  typeParagraph(writer.ydoc, 'Case notes: risk to Daniel assessed as medium.');
  typeParagraph(writer.ydoc, 'Decision: visit again within five working days.');
  await expect.poll(() => acknowledged(writer), { timeout: 10_000 }).toContain('within five working days');

  // The node holding the session dies mid-exercise.
  const holder = (): string | undefined => (db.prepare('SELECT node FROM session_leases WHERE session_id = ?').get(day.sessionId) as { node: string } | undefined)?.node;
  await expect.poll(holder, { timeout: 10_000 }).toBeDefined();
  const node = holder()!;
  await kill9(cluster.servers[names.indexOf(node)]!);

  // Through the balancer, the other node: every acknowledged word, writing still open, more taken.
  const reopened = await openWritten();
  expect(acknowledged(reopened)).toBe(acknowledged(writer));
  expect(acknowledged(reopened)).toContain('risk to Daniel assessed as medium');
  const survivor = cluster.servers[1 - names.indexOf(node)]!;
  const status = (await (
    await fetch(`${survivor.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${candidate.participantId}`, { headers: { cookie } })
  ).json()) as WrittenStatus;
  expect(status.status).toBe('open');
  expect(status.closesAt).toBe(state.deadline);
  typeParagraph(reopened.ydoc, 'Added after the failover.');
  await expect.poll(() => acknowledged(reopened), { timeout: 10_000 }).toContain('Added after the failover.');
  expect(acknowledged(reopened)).toContain('within five working days');
});
