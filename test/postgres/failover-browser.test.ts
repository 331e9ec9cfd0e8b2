// The failover as people live it: two studio nodes behind HAProxy (deploy/haproxy.cfg), one
// PostgreSQL database, one Redis, a candidate and an actor in real Chromium pages with fake
// cameras, in a recorded scenario. The node holding the session is SIGKILLed: within 10 s the
// pages, without a reload, are on the other node and decode each other's video again; their
// countdown shows the stored deadline (±1 s); the lead observer's acknowledged agreed rating is
// there; the survivor took the session's lease (a higher fencing token) and records the scenario
// on, as new segments. (The written exercise across a failover: failover-written.test.ts.)
import type { Browser, Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import type { HealthResponse } from '../../shared/api.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { agreedKey } from '../../shared/rubric.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { collabUrl, RawCollabClient } from '../helpers/collab-client.ts';
import { startHaproxy } from '../helpers/haproxy.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { startRedis } from '../helpers/redis.ts';
import { bookOnServer, cookieFor, dayControl, freePort, inviteOf, kill9, startServerProcess, type ServerInvite } from '../helpers/server-process.ts';

const cluster = new TestCluster('failover-browser');
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await cluster.close();
});

/** Video frames this page has decoded from `participantId` (its app's own receive stats). */
async function framesFrom(page: Page, participantId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const session = window.simstudio?.session;
    if (!session) return 0;
    return (await session.stats()).inbound.filter((s) => s.kind === 'video' && s.participantId === id).reduce((n, s) => n + (s.framesDecoded ?? 0), 0);
  }, participantId);
}

/** Whether the page's video from `participantId` is moving: more frames decoded 600 ms later. */
async function seesMoving(page: Page, participantId: string): Promise<boolean> {
  const before = await framesFrom(page, participantId);
  await new Promise((r) => setTimeout(r, 600));
  return (await framesFrom(page, participantId)) > before;
}

async function joinRoom(invite: ServerInvite): Promise<Page> {
  const { page } = await openInvite(browser!, cluster.viaBalancer(invite));
  const joinButton = page.getByTestId('join-button');
  await joinButton.waitFor({ timeout: 30_000 });
  await pollUntil(`${invite.role} device check ready`, 20_000, async () => joinButton.isEnabled());
  await joinButton.click();
  try {
    await pollUntil(`${invite.role} connected`, 30_000, async () => (await page.evaluate(() => window.simstudio?.state.connectionState ?? null)) === 'connected');
  } catch (error) {
    // What the page and the nodes said, to tell a routing fault from a media one.
    const state = await page.evaluate(() => JSON.stringify(window.simstudio?.state ?? null));
    throw new Error(`${(error as Error).message}\npage state: ${state}\n${cluster.servers.map((s) => s.output().slice(-2000)).join('\n---\n')}`);
  }
  return page;
}

it('survives the death of the node holding a session: media back within 10 s, the same deadline, the acknowledged rating kept, recording on as new segments', { timeout: 300_000 }, async () => {
  const redis = (cluster.redis = await startRedis());
  const names = ['node-1', 'node-2'];
  // The pages' origin is the balancer's: every node is told it is its public URL.
  const balancerPort = await freePort();
  const env = { REDIS_URL: redis.url, SIMSTUDIO_PUBLIC_URL: `http://127.0.0.1:${balancerPort}` };
  for (const name of names) cluster.servers.push(await startServerProcess(cluster.dataDir, await freePort(), { ...env, SIMSTUDIO_NODE_NAME: name }));
  const [first, second] = cluster.servers as [(typeof cluster.servers)[0], (typeof cluster.servers)[0]];
  cluster.balancer = await startHaproxy([first.baseUrl, second.baseUrl], balancerPort);
  const db = connectToStudioDatabase(cluster.dataDir);
  cluster.onClose(() => db.close());
  browser = await launchBrowser();

  const day = await bookOnServer(first, cluster.dataDir);
  const [lead, candidate, actor] = (['leadObserver', 'candidate', 'actor'] as const).map((role) => inviteOf(day, role)) as [ServerInvite, ServerInvite, ServerInvite];
  const leadSocket = await cluster.throughBalancer(lead, day.sessionId);
  // Into the first scenario (candidate and actor on stage, recorded), then into the room.
  await dayControl(leadSocket.socket, { action: 'start' });
  const scenario = await dayControl(leadSocket.socket, { action: 'advance', fromPhaseIndex: 0 });
  expect(scenario.phases[scenario.phaseIndex]!.kind).toBe('scenario');
  const candidatePage = await joinRoom(candidate);
  const actorPage = await joinRoom(actor);
  await pollUntil('candidate and actor see each other', 30_000, async () => (await seesMoving(candidatePage, actor.participantId)) && (await seesMoving(actorPage, candidate.participantId)));
  const lease = (): { node: string; token: number } | undefined => {
    const row = db.prepare('SELECT node, token FROM session_leases WHERE session_id = ?').get(day.sessionId) as { node: string; token: number | bigint } | undefined;
    return row ? { node: row.node, token: Number(row.token) } : undefined;
  };
  // Taken by the node its people are on within a renewal (1 s).
  const held = await pollUntil('the session held by a node', 10_000, async () => lease());
  expect(held.token).toBe(1);
  const owner = names.indexOf(held.node);
  expect(owner).toBeGreaterThanOrEqual(0);
  const segments = (node: string): Array<{ participant_id: string; segment: number }> =>
    (db.prepare("SELECT participant_id, segment FROM recordings WHERE session_id = ? AND phase_index = ? AND node = ? AND status != 'fallback' ORDER BY segment").all(day.sessionId, scenario.phaseIndex, node) as Array<{
      participant_id: string;
      segment: number | bigint;
    }>).map((r) => ({ participant_id: r.participant_id, segment: Number(r.segment) }));
  const recorded = (node: string): string[] => [...new Set(segments(node).map((s) => s.participant_id))].sort();
  const both = [candidate.participantId, actor.participantId].sort();
  await pollUntil('both recorded by the owner', 30_000, async () => JSON.stringify(recorded(held.node)) === JSON.stringify(both));
  const survivorName = names[1 - owner]!;
  expect(segments(survivorName)).toEqual([]);
  // The lead observer's agreed rating, acknowledged (stored and sent back) before the kill.
  const openRubric = async (): Promise<RawCollabClient> => {
    const client = new RawCollabClient(collabUrl(cluster.balancer!.baseUrl, `session/${day.sessionId}/rubric`, lead.participantId), {
      cookie: await cookieFor(cluster.viaBalancer(lead), lead.participantId),
    });
    cluster.collabClients.push(client);
    await client.synced;
    return client;
  };
  const rubric = await openRubric();
  rubric.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 3, rationale: 'agreed before the failover' });
  await pollUntil('the agreed rating acknowledged', 10_000, async () => rubric.serverView.getMap('agreed').get(agreedKey(1, 'kss-1')) !== undefined);

  // The owner dies.
  const killedAt = Date.now();
  await kill9(cluster.servers[owner]!);
  const survivor = cluster.servers[1 - owner]!;
  // Within 10 s: both pages on the survivor (no reload), seeing each other's video move again.
  await pollUntil('both pages back on the survivor, seeing each other', 10_000, async () => {
    const health = (await (await fetch(`${survivor.baseUrl}/api/health`)).json()) as HealthResponse;
    return health.connections.signalling >= 3 && (await seesMoving(candidatePage, actor.participantId)) && (await seesMoving(actorPage, candidate.participantId));
  });
  const backAfterMs = Date.now() - killedAt;
  expect(backAfterMs).toBeLessThan(10_000);
  console.log(`[failover] media back ${backAfterMs} ms after the SIGKILL`);
  expect(await candidatePage.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);

  // The countdown is the stored deadline's (±1 s): nothing was restarted or lost.
  for (const page of [candidatePage, actorPage]) {
    const estimate = await pollUntil('a countdown', 10_000, () =>
      page.evaluate(() => {
        const remaining = window.simstudio?.day?.remainingMs() ?? null;
        return remaining === null ? undefined : performance.timeOrigin + performance.now() + remaining;
      }),
    );
    expect(Math.abs(estimate - scenario.deadline!)).toBeLessThanOrEqual(1_000);
  }

  // The survivor holds the session now, under a higher token, and records on: new segments,
  // numbered after the dead node's.
  await pollUntil('the survivor holds the session', 10_000, async () => lease()?.node === survivorName);
  expect(lease()!.token).toBe(2);
  await pollUntil('both recorded again by the survivor', 30_000, async () => JSON.stringify(recorded(survivorName)) === JSON.stringify(both));
  for (const participant of both) {
    const before = Math.max(...segments(held.node).filter((s) => s.participant_id === participant).map((s) => s.segment));
    const after = Math.min(...segments(survivorName).filter((s) => s.participant_id === participant).map((s) => s.segment));
    expect(after).toBeGreaterThan(before);
  }
  // The acknowledged rating, on the survivor.
  const reopened = await openRubric();
  expect(reopened.serverView.getMap('agreed').get(agreedKey(1, 'kss-1'))).toMatchObject({ rating: 3, rationale: 'agreed before the failover' });
  expect(pageErrors).toEqual([]);
});
