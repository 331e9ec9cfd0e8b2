// bench/cluster.ts — run by hand: `npm run bench:cluster` (options: -- --sessions 20 --joins 8 --seconds 20 --rounds 2).
// One studio node, then two (alternating, `--rounds` times), behind HAProxy running
// deploy/haproxy.cfg, on one PostgreSQL and one Redis: everything started here, on this
// machine. With each, the same load: `--sessions`
// booked sessions, each with its lead observer, candidate and actor connected (signalling,
// through the balancer) and its rubric open twice (the lead writing an agreed rating every
// second, an observer watching), plus one session in a scenario with a live candidate and actor
// in Chromium (fake cameras). Measured under that load:
//   - sessions per node: where the balancer put each session's people (each node's /api/health);
//   - signalling join: an observer opening their invite link, then their socket through the
//     balancer, to its first day state;
//   - rubric edit → seen by the watcher (p50, p99);
//   - join → first remote frame: an observer's Chromium page in the live session (`--joins`).
// Two nodes on one machine share its cores: this compares routing and the cost of crossing
// nodes, not the capacity a second machine adds (that is the first figure per node, times N).
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import type { HealthResponse } from '../shared/api.ts';
import { agreedKey } from '../shared/rubric.ts';
import { launchBrowser, openInvite, pollUntil } from '../test/helpers/browser.ts';
import { TestCluster } from '../test/helpers/cluster.ts';
import { collabUrl, RawCollabClient } from '../test/helpers/collab-client.ts';
import { startHaproxy } from '../test/helpers/haproxy.ts';
import { startPostgresForStudios } from '../test/helpers/postgres.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { bookOnServer, cookieFor, dayControl, freePort, inviteOf, startServerProcess, type ServerDay, type ServerInvite } from '../test/helpers/server-process.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    joins: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
  },
});
const SESSIONS = Number(values.sessions);
const JOINS = Number(values.joins);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);

const postgres = startPostgresForStudios();
process.env.SIMSTUDIO_TEST_POSTGRES = postgres.url('postgres');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Milliseconds from navigation start to the first decoded remote video frame, seen in the page. */
const FIRST_FRAME = () => {
  const poll = () => {
    const video = document.querySelector<HTMLVideoElement>('video[data-testid="remote-video"]');
    if (video && video.readyState >= 2 && video.videoWidth > 0) (window as unknown as { __frame: number }).__frame = performance.now();
    else setTimeout(poll, 5);
  };
  poll();
};

interface Result {
  nodes: number;
  sessionsPerNode: number[];
  socketJoin: number[];
  editSeen: number[];
  firstFrame: number[];
}

async function run(nodes: 1 | 2): Promise<Result> {
  const cluster = new TestCluster(`bench-cluster-${nodes}`);
  try {
    cluster.redis = await startRedis();
    const balancerPort = await freePort();
    const env = { REDIS_URL: cluster.redis.url, SIMSTUDIO_PUBLIC_URL: `http://127.0.0.1:${balancerPort}` };
    for (let i = 0; i < nodes; i++) cluster.servers.push(await startServerProcess(cluster.dataDir, await freePort(), { ...env, SIMSTUDIO_NODE_NAME: `node-${i + 1}` }));
    // With one node, both of the balancer's server lines name it.
    const [first, second = first] = cluster.servers as [(typeof cluster.servers)[0], ...(typeof cluster.servers)];
    cluster.balancer = await startHaproxy([first.baseUrl, second!.baseUrl], balancerPort);

    // The load: sessions with their people connected and their rubric being written and watched.
    const days: ServerDay[] = [];
    for (let i = 0; i < SESSIONS; i++) days.push(await bookOnServer(first, cluster.dataDir));
    const editSeen: number[] = [];
    const writers: Array<{ client: RawCollabClient; key: string }> = [];
    for (const day of days) {
      for (const role of ['leadObserver', 'candidate', 'actor'] as const) await cluster.throughBalancer(inviteOf(day, role), day.sessionId);
      const open = async (invite: ServerInvite): Promise<RawCollabClient> => {
        const client = new RawCollabClient(collabUrl(cluster.balancer!.baseUrl, `session/${day.sessionId}/rubric`, invite.participantId), {
          cookie: await cookieFor(cluster.viaBalancer(invite), invite.participantId),
        });
        cluster.collabClients.push(client);
        await client.synced;
        return client;
      };
      const writer = await open(inviteOf(day, 'leadObserver'));
      const watcher = await open(inviteOf(day, 'observer'));
      const key = agreedKey(1, 'kss-1');
      watcher.ydoc.getMap('agreed').observe(() => {
        const value = watcher.ydoc.getMap('agreed').get(key) as { rationale: string } | undefined;
        const sentAt = Number(value?.rationale.split(' ').at(-1));
        if (Number.isFinite(sentAt)) editSeen.push(performance.now() - sentAt);
      });
      writers.push({ client: writer, key });
    }
    const sessionsPerNode = await Promise.all(
      cluster.servers.map(async (s) => ((await (await fetch(`${s.baseUrl}/api/health`)).json()) as HealthResponse).connections.signalling / 3),
    );

    // One session live in a scenario, with a candidate and an actor in Chromium.
    const browser = await launchBrowser();
    const live = await bookOnServer(first, cluster.dataDir);
    const lead = await cluster.throughBalancer(inviteOf(live, 'leadObserver'), live.sessionId);
    await dayControl(lead.socket, { action: 'start' });
    await dayControl(lead.socket, { action: 'advance', fromPhaseIndex: 0 });
    const stage: Page[] = [];
    for (const role of ['candidate', 'actor'] as const) {
      const { page } = await openInvite(browser, cluster.viaBalancer(inviteOf(live, role)));
      const join = page.getByTestId('join-button');
      await pollUntil(`${role} ready`, 30_000, () => join.isEnabled());
      await join.click();
      await pollUntil(`${role} connected`, 30_000, async () => (await page.evaluate(() => window.simstudio?.state.connectionState)) === 'connected');
      stage.push(page);
    }

    // The edits run from here to the end: one per writer per second, spread over the second;
    // measured for `--seconds` first, before any join (joins load the same two cores).
    const timers = writers.map((w, i) =>
      setTimeout(() => {
        const write = () => w.client.ydoc.getMap('agreed').set(w.key, { rating: 3, rationale: `agreed at ${performance.now()}` });
        write();
        timers[i] = setInterval(write, 1000);
      }, (i * 1000) / writers.length),
    );
    await new Promise((r) => setTimeout(r, 2_000));
    editSeen.length = 0;
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const edits = [...editSeen];

    // Signalling joins: an observer of each load session, one after another.
    const socketJoin: number[] = [];
    for (const day of days.slice(0, Math.max(JOINS, 8))) {
      const invite = inviteOf(day, 'observer');
      const started = performance.now();
      const person = await cluster.throughBalancer(invite, day.sessionId);
      await pollUntil('the day state', 10_000, async () => person.days.length > 0);
      socketJoin.push(performance.now() - started);
      person.socket.disconnect();
    }

    // Chromium joins of the live session's observer, each in a fresh context.
    const firstFrame: number[] = [];
    const observer = inviteOf(live, 'observer');
    for (let i = 0; i < JOINS; i++) {
      const { page, context } = await openInvite(browser, cluster.viaBalancer(observer), { initScript: FIRST_FRAME, arg: 0 });
      firstFrame.push(await pollUntil('first remote frame', 30_000, () => page.evaluate(() => (window as unknown as { __frame?: number }).__frame)));
      await context.close();
    }
    for (const t of timers) clearInterval(t);
    await browser.close();
    return { nodes, sessionsPerNode, socketJoin, editSeen: edits, firstFrame };
  } finally {
    await cluster.close();
  }
}

// One node and two alternate, `--rounds` times: a shared 2-core machine drifts within minutes.
const results: Result[] = [];
for (let round = 0; round < ROUNDS; round++) results.push(await run(1), await run(2));
postgres.stop();

const ms = (n: number) => `${n.toFixed(0)} ms`;
process.stdout.write(
  `studio nodes behind HAProxy, one PostgreSQL, one Redis, all on this machine; load: ${SESSIONS} sessions × (3 signalling sockets + 2 rubric clients, 1 edit/s) + 1 live scenario in Chromium\n`,
);
process.stdout.write(`${'nodes'.padEnd(7)}${'sessions per node'.padEnd(20)}${'socket join p50/p95'.padEnd(22)}${'edit seen p50/p99'.padEnd(20)}${'first frame p50/p95'.padEnd(22)}\n`);
for (const r of results) {
  process.stdout.write(
    `${String(r.nodes).padEnd(7)}${r.sessionsPerNode.join(' + ').padEnd(20)}${`${ms(percentile(r.socketJoin, 50))} / ${ms(percentile(r.socketJoin, 95))}`.padEnd(22)}${`${ms(percentile(r.editSeen, 50))} / ${ms(percentile(r.editSeen, 99))}`.padEnd(20)}${`${ms(percentile(r.firstFrame, 50))} / ${ms(percentile(r.firstFrame, 95))}`.padEnd(22)}\n`,
  );
}
// Over the rounds: the median of each figure, one node against two.
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const of = (nodes: number, figure: (r: Result) => number) => median(results.filter((r) => r.nodes === nodes).map(figure));
const figures: Array<[string, (r: Result) => number]> = [
  ['socket join p50', (r) => percentile(r.socketJoin, 50)],
  ['edit seen p99', (r) => percentile(r.editSeen, 99)],
  ['first frame p50', (r) => percentile(r.firstFrame, 50)],
];
process.stdout.write(`medians over ${ROUNDS} rounds, two nodes vs one: ${figures.map(([name, f]) => `${name} ${ms(of(2, f))} vs ${ms(of(1, f))} (×${(of(2, f) / of(1, f)).toFixed(2)})`).join('; ')}\n`);
process.stdout.write(`edits measured per run: ${results.map((r) => r.editSeen.length).join(' / ')}\n`);
