// bench/collab.ts — run by hand: `npm run bench:collab` (options: -- --sessions 200 --seconds 20 --rate 1 --engine sqlite|postgres).
// Latency of an observer's edit to their scoring sheet reaching another connection of that
// sheet (the same observer's second device: before submission nobody else receives a sheet),
// with N sessions × 3 observers connected to one server process, each observer making `rate`
// edits per second. Measured against SimStudio's /collab endpoint (authenticated, every update
// checked struct by struct, durable append before the author's acknowledgement) and, on the same machine, load
// and topology, against the reference @y/websocket-server (no auth, no checks, no
// persistence). A third run is the same load with some documents (--heavy, one per session
// from the first) already holding 10,000 edits (--history): their edits' latency, against the
// light documents' in the same run, shows that the check's cost does not grow with the
// document. Each run edits for --warmup seconds unmeasured first (both processes, and the
// bench's own clients, JIT-compile and size their heaps), and SimStudio and the reference
// alternate for --rounds rounds: on a shared 2-core machine one run's p99 varies by ×2 or
// more, so the ratio is taken between the medians. Prints every run and the ratios, and how
// long each author waits to hear their own edit back (SimStudio's "saved": after the commit).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { sheetDocName } from '../shared/collab.ts';
import { ratingKey } from '../shared/rubric.ts';
import { DocStore } from '../server/collab/doc-store.ts';
import { loadConfig } from '../server/config.ts';
import { openData } from '../server/studio.ts';
import { RawCollabClient } from '../test/helpers/collab-client.ts';
import { startPostgresForStudios, studioEnv } from '../test/helpers/postgres.ts';
import { cookieFor, freePort, kill9, startServerProcess } from '../test/helpers/server-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '1' },
    history: { type: 'string', default: '10000' },
    heavy: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    engine: { type: 'string', default: 'sqlite' },
  },
});
if (values.engine !== 'sqlite' && values.engine !== 'postgres') throw new Error('--engine is sqlite or postgres');
const ENGINE = values.engine;
// PostgreSQL: a throwaway cluster on this machine (unix socket), each studio a database of its own.
const postgres = ENGINE === 'postgres' ? startPostgresForStudios() : undefined;
if (postgres) process.env.SIMSTUDIO_TEST_POSTGRES = postgres.url('postgres');
const SESSIONS = Number(values.sessions);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const HISTORY = Number(values.history);
const HEAVY = Number(values.heavy);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const PER_SESSION = 3;

interface Client {
  /** The observer's connection that edits. */
  raw: RawCollabClient;
  /** A second connection to the same document that measures arrival. */
  watcher: RawCollabClient;
  authorId: string;
}

interface Target {
  name: string;
  /** Authors whose documents already hold HISTORY edits. */
  heavy: Set<string>;
  stop(): Promise<void>;
  /** One list of clients per session, connected and synced. */
  sessions: Client[][];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function connectAll(make: () => Array<Array<{ url: string; headers: Record<string, string>; authorId: string }>>): Promise<Client[][]> {
  const plan = make();
  const sessions: Client[][] = [];
  // Connect in batches so the handshake burst does not dominate.
  for (let i = 0; i < plan.length; i += 20) {
    const batch = plan
      .slice(i, i + 20)
      .map((specs) => specs.map((s) => ({ raw: new RawCollabClient(s.url, s.headers), watcher: new RawCollabClient(s.url, s.headers), authorId: s.authorId })));
    await Promise.all(batch.flat().flatMap((c) => [c.raw.synced, c.watcher.synced]));
    sessions.push(...batch);
  }
  return sessions;
}

async function simstudio(history: number): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-bench-collab-'));
  const port = await freePort();
  const server = await startServerProcess(dataDir, port, { SIMSTUDIO_LOG_LEVEL: 'error' });
  const data = openData(loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_PORT: String(port) }));
  const store = new DocStore(data.db);
  const specs: Array<Array<{ url: string; headers: Record<string, string>; authorId: string }>> = [];
  const heavy = new Set<string>();
  for (let s = 0; s < SESSIONS; s++) {
    const { session, participants } = data.sessions.create({
      title: `bench ${s}`,
      level: 'practitioner',
      participants: [
        { role: 'leadObserver', displayName: 'Lead' },
        { role: 'observer', displayName: 'A' },
        { role: 'observer', displayName: 'B' },
      ],
    });
    const row = [];
    for (const p of participants) {
      // Signed in as the invite link does, and the privacy and recording notices accepted (the
      // server refuses the documents of anyone who has not).
      const cookie = await cookieFor(await data.invites.link(server.baseUrl, p), p.id);
      const doc = sheetDocName(session.id, p.id, 1);
      if (history > 0 && s < HEAVY && row.length === 0) {
        store.append(doc, sheetWithHistory(p.id, history));
        heavy.add(p.id);
      }
      row.push({
        url: `${server.baseUrl.replace(/^http/, 'ws')}/collab/${doc}?participantId=${p.id}`,
        headers: { cookie },
        authorId: p.id,
      });
    }
    specs.push(row);
  }
  data.db.close();
  const sessions = await connectAll(() => specs);
  const engine = ENGINE === 'postgres' ? ' (PostgreSQL)' : '';
  return { name: history > 0 ? `SimStudio${engine}, ${heavy.size} docs of ${history} edits` : `SimStudio /collab${engine}`, heavy, sessions, stop: () => kill9(server) };
}

/** One observer's sheet after `edits` rating changes (each overwrite leaves a struct behind). */
function sheetWithHistory(observerId: string, edits: number): Uint8Array {
  const doc = new Y.Doc();
  const ratings = doc.getMap('ratings');
  for (let i = 0; i < edits; i++) ratings.set(ratingKey(observerId, 1, `kss-${1 + (i % 10)}`), 1 + (i % 4));
  return Y.encodeStateAsUpdate(doc);
}

async function reference(): Promise<Target> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'node_modules/@y/websocket-server/src/server.js')], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const specs = Array.from({ length: SESSIONS }, (_, s) =>
    Array.from({ length: PER_SESSION }, (_, i) => ({
      url: `ws://127.0.0.1:${port}/collab/bench-${s}-${i}`,
      headers: {},
      authorId: `author-${s}-${i}`,
    })),
  );
  const sessions = await connectAll(() => specs);
  return {
    name: 'reference @y/websocket-server',
    heavy: new Set(),
    sessions,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Every client edits at RATE per second; the next client in the session measures arrival. */
async function measure(target: Target): Promise<{ all: number[]; light: number[]; heavy: number[]; acks: number[] }> {
  const sent = new Map<string, number>();
  const measureFrom = performance.now() + WARMUP * 1000;
  const light: number[] = [];
  const heavy: number[] = [];
  // The author hearing their own edit back: their client's "saved".
  const acks: number[] = [];
  target.sessions.forEach((clients) => {
    clients.forEach((client) => {
      client.raw.serverView.getMap('notes').observe((event: Y.YMapEvent<unknown>) => {
        for (const key of event.keysChanged) {
          const at = sent.get(key);
          if (at !== undefined && at >= measureFrom && key.startsWith(`${client.authorId}|`)) acks.push(performance.now() - at);
        }
      });
      client.watcher.ydoc.getMap('notes').observe((event: Y.YMapEvent<unknown>) => {
        for (const key of event.keysChanged) {
          if (!key.startsWith(`${client.authorId}|`)) continue;
          const at = sent.get(key);
          if (at !== undefined && at >= measureFrom) (target.heavy.has(client.authorId) ? heavy : light).push(performance.now() - at);
        }
      });
    });
  });
  let counter = 0;
  const timers: NodeJS.Timeout[] = [];
  const all = target.sessions.flat();
  all.forEach((client, index) => {
    // Spread the first edits over one period so the load is even.
    const start = setTimeout(() => {
      const tick = setInterval(() => {
        const key = `${client.authorId}|n${counter++}`;
        sent.set(key, performance.now());
        client.raw.ydoc.getMap('notes').set(key, { scenario: 1, atMs: 0, domainId: null, text: key, createdAt: Date.now() });
      }, 1000 / RATE);
      timers.push(tick);
    }, (index / all.length) * (1000 / RATE));
    timers.push(start);
  });
  await new Promise((r) => setTimeout(r, (WARMUP + SECONDS) * 1000));
  for (const t of timers) clearTimeout(t);
  await new Promise((r) => setTimeout(r, 1000));
  for (const c of all) {
    c.raw.close();
    c.watcher.close();
  }
  const sort = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  return { all: sort([...light, ...heavy]), light: sort(light), heavy: sort(heavy), acks: sort(acks) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (name: string, sorted: number[]) => ({ name, n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
const rows: Array<ReturnType<typeof row>> = [];
const ours: Array<ReturnType<typeof row>> = [];
const refs: Array<ReturnType<typeof row>> = [];
const ackRows: Array<ReturnType<typeof row>> = [];
const ourAcks: Array<ReturnType<typeof row>> = [];
const refAcks: Array<ReturnType<typeof row>> = [];
for (let round = 1; round <= ROUNDS; round++) {
  // Alternate who goes first, so that neither always runs on a fresher machine.
  const order = round % 2 === 1 ? ['simstudio', 'reference'] : ['reference', 'simstudio'];
  for (const which of order) {
    const target = which === 'simstudio' ? await simstudio(0) : await reference();
    const measured = await measure(target);
    await target.stop();
    const r = row(`round ${round}: ${target.name}`, measured.all);
    rows.push(r);
    (which === 'simstudio' ? ours : refs).push(r);
    const ack = row(`round ${round}: ${target.name}`, measured.acks);
    ackRows.push(ack);
    (which === 'simstudio' ? ourAcks : refAcks).push(ack);
  }
}
const heavyTarget = await simstudio(HISTORY);
const heavyRun = await measure(heavyTarget);
await heavyTarget.stop();
const light = row('SimStudio, same run: light docs', heavyRun.light);
const heavy = row(`SimStudio, same run: ${HISTORY}-edit docs`, heavyRun.heavy);
rows.push(light, heavy);

process.stdout.write(
  `edit → second connection latency (SimStudio's database: ${ENGINE === 'postgres' ? 'PostgreSQL' : 'SQLite'}): ${SESSIONS} sessions × ${PER_SESSION} observers (each: a writer and a watcher of their own document), ${RATE} edit/s per observer, ${WARMUP} s warm-up + ${SECONDS} s measured, one server process\n`,
);
process.stdout.write(`${'server'.padEnd(48)}${'edits'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}\n`);
for (const r of rows) {
  process.stdout.write(`${r.name.padEnd(48)}${String(r.n).padStart(8)}${r.p50.toFixed(1).padStart(9)}${r.p99.toFixed(1).padStart(9)}\n`);
}
const [ourP50, ourP99, refP50, refP99] = [median(ours.map((r) => r.p50)), median(ours.map((r) => r.p99)), median(refs.map((r) => r.p50)), median(refs.map((r) => r.p99))];
process.stdout.write(`median of ${ROUNDS} rounds: SimStudio p50 ${ourP50.toFixed(1)} / p99 ${ourP99.toFixed(1)} ms; reference p50 ${refP50.toFixed(1)} / p99 ${refP99.toFixed(1)} ms\n`);
process.stdout.write(`ratio SimStudio / reference (medians): p50 ×${(ourP50 / refP50).toFixed(2)}, p99 ×${(ourP99 / refP99).toFixed(2)}\n`);
process.stdout.write(`\nedit → saved (the author hears their edit back; SimStudio: once the database holds it; the reference: at once, kept in memory only)\n`);
process.stdout.write(`${'server'.padEnd(48)}${'edits'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}\n`);
for (const r of ackRows) {
  process.stdout.write(`${r.name.padEnd(48)}${String(r.n).padStart(8)}${r.p50.toFixed(1).padStart(9)}${r.p99.toFixed(1).padStart(9)}\n`);
}
const [ackOur50, ackOur99, ackRef50, ackRef99] = [median(ourAcks.map((r) => r.p50)), median(ourAcks.map((r) => r.p99)), median(refAcks.map((r) => r.p50)), median(refAcks.map((r) => r.p99))];
process.stdout.write(`saved, median of ${ROUNDS} rounds: SimStudio p50 ${ackOur50.toFixed(1)} / p99 ${ackOur99.toFixed(1)} ms; reference p50 ${ackRef50.toFixed(1)} / p99 ${ackRef99.toFixed(1)} ms (×${(ackOur99 / ackRef99).toFixed(2)} at p99)\n`);
process.stdout.write(`ratio ${HISTORY}-edit documents / light documents in the same run: p50 ×${(heavy.p50 / light.p50).toFixed(2)}, p99 ×${(heavy.p99 / light.p99).toFixed(2)}\n`);
postgres?.stop();
process.exit(0);
