// One seed of the fuzzer against a running server process: books a session (two observers),
// runs its day into the written exercise, starts honest clients (each scorer's own sheets, the
// lead document, the written exercise) and, beside them for `seconds`, fuzz streams over
// y-websocket, Socket.IO and HTTP from every participant; then checks the server (alive,
// healthy, memory, log) and the stored documents (oracle.ts).
import fs from 'node:fs';
import path from 'node:path';
import { collabDocName, sheetDocName } from '../../shared/collab.ts';
import { booking, testTemplate } from '../helpers/assessment.ts';
import { cookieFor, dayStateOnConnect, dayControl, inviteOf, operatorInvites, type ServerDay, type ServerProcess } from '../helpers/server-process.ts';
import {
  HonestWriter,
  collabFuzzStream,
  honestLeadEdit,
  honestSheetEdit,
  honestSubmit,
  honestWrittenEdit,
  newStats,
  type Screen,
  type StreamStats,
} from './collab-streams.ts';
import { httpFuzzStream, newHttpStats, type HttpStats } from './http-streams.ts';
import { checkDocuments, checkSightings, loadStoredDocs, type Finding } from './oracle.ts';
import { Rng } from './rng.ts';
import { newSocketStats, socketFuzzStream, type SocketStats } from './socket-streams.ts';
import {
  HONEST_SECRET_SCENARIO,
  HONEST_SUBMITTED_SCENARIO,
  fuzzTargets,
  honestDocs,
  newTag,
  personByRole,
  scorers,
  sessionDocs,
  type Person,
  type World,
} from './world.ts';

/** The day the fuzzer books: soft phases up to a long written exercise (the candidate writes all run). */
export const FUZZ_TEMPLATE = testTemplate('fuzz-day', 'Fuzz day', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 3600, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);
const WRITTEN_INDEX = 2;

/** Log lines that mean a handler threw (the process policy's, the HTTP and collab boundaries'). */
export const HANDLER_FAULTS = /uncaughtException|unhandledRejection|unhandled HTTP error|collab message handler failed|collab connection failed|socket setup failed/;

export interface Staff {
  coordinatorId: string;
  cookie: string;
  templateId: string;
}

export interface SeedResult {
  seed: number;
  sessionId: string;
  findings: Finding[];
  /** Log lines of handler faults logged during the seed. */
  faults: string[];
  /** Error-level log lines of the seed by message (for the report; faults are a subset). */
  errors: Map<string, number>;
  alive: boolean;
  healthStatus: number;
  rssKb: number;
  collab: StreamStats;
  socket: SocketStats;
  http: HttpStats;
  honestEdits: number;
  ms: number;
}

export function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

export async function book(server: ServerProcess, dataDir: string, staff: Staff, seed: number): Promise<ServerDay> {
  const body = booking(staff.templateId, {
    title: `Fuzz seed ${seed}`,
    observers: [{ displayName: 'Olu Observer' }, { displayName: 'Ola Observer' }],
    actors: [{ displayName: 'Ada Actor', scenarios: [1] }],
  });
  const res = await fetch(`${server.baseUrl}/api/studio/sessions?participantId=${staff.coordinatorId}`, {
    method: 'POST',
    headers: { cookie: staff.cookie, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`booking failed: ${res.status} ${await res.text()}`);
  const { sessionId } = (await res.json()) as { sessionId: string };
  return { sessionId, invites: await operatorInvites(server, dataDir, sessionId) };
}

export async function runSeed(opts: { server: ServerProcess; dataDir: string; staff: Staff; seed: number; seconds: number; otherSessionId: string; logOffset: number }): Promise<SeedResult> {
  const { server, staff, seed } = opts;
  const started = Date.now();
  const rng = Rng.derive(seed, 'world');
  const day = await book(server, opts.dataDir, staff, seed);
  const people: Person[] = [];
  for (const invite of day.invites) {
    people.push({ id: invite.participantId, role: invite.role, link: invite.link, cookie: await cookieFor(invite.link, invite.participantId), tag: newTag(rng) });
  }
  const world: World = { seed, baseUrl: server.baseUrl, sessionId: day.sessionId, otherSessionId: opts.otherSessionId, people, ownersFuzzShared: seed % 2 === 1 };

  // The day runs into the written exercise (the lead observer's controls), then the lead leaves.
  const { socket: leadSocket } = await dayStateOnConnect(server, inviteOf(day, 'leadObserver'));
  let state = await dayControl(leadSocket, { action: 'start' });
  while (state.phaseIndex < WRITTEN_INDEX) state = await dayControl(leadSocket, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  leadSocket.disconnect();

  const screen: Screen = { world, sightings: [], presence: new Map(), forgedPresence: [] };
  const honest: HonestWriter[] = [];
  for (const s of scorers(world)) {
    honest.push(new HonestWriter(world, s, sheetDocName(world.sessionId, s.id, HONEST_SECRET_SCENARIO), screen));
    honest.push(new HonestWriter(world, s, sheetDocName(world.sessionId, s.id, HONEST_SUBMITTED_SCENARIO), screen));
  }
  const lead = personByRole(world, 'leadObserver');
  const candidate = personByRole(world, 'candidate');
  if (!world.ownersFuzzShared) {
    honest.push(new HonestWriter(world, lead, collabDocName(world.sessionId, 'rubric'), screen));
    // A fuzzed day control could pause or end the written phase: then the candidate is told so.
    honest.push(new HonestWriter(world, candidate, collabDocName(world.sessionId, 'written'), screen, (reason) => /^(the assessment day is paused|time is up)/.test(reason)));
  }
  // Observers follow the lead document (they receive whatever is accepted into it).
  const readers = scorers(world)
    .filter((s) => s.role === 'observer')
    .map((s) => new HonestWriter(world, s, collabDocName(world.sessionId, 'rubric'), screen));
  for (const h of [...honest, ...readers]) {
    if (!(await h.ready())) throw new Error(`honest client of ${h.docName} was refused: ${JSON.stringify(h.link.closed)}`);
  }
  // Presence on the lead document: the readers' and (on even seeds) the lead's own.
  for (const h of [...honest, ...readers]) if (h.docName.endsWith('/rubric')) await h.announce(screen);

  const until = Date.now() + opts.seconds * 1000;
  const collab = newStats();
  const socket = newSocketStats();
  const http = newHttpStats();
  let honestEdits = 0;
  const honestLoop = async (h: HonestWriter, index: number): Promise<void> => {
    const hr = Rng.derive(seed, `honest-${index}`);
    const submitAt = Date.now() + opts.seconds * 500;
    for (let n = 0; Date.now() < until && h.link.open; n++) {
      const target = h.docName;
      if (target.endsWith(`/${HONEST_SUBMITTED_SCENARIO}`) && Date.now() > submitAt) {
        await h.edit(honestSubmit(h.who, HONEST_SUBMITTED_SCENARIO as 2));
        honestEdits++;
        return; // submitted: read-only from now on
      }
      if (target.includes('/sheet/')) await h.edit(honestSheetEdit(hr, world, h.who, target.endsWith('/1') ? 1 : 2, n));
      else if (target.endsWith('/rubric')) await h.edit(honestLeadEdit(hr, world, n));
      else await h.edit(honestWrittenEdit(hr, n));
      honestEdits++;
      await delay(hr.int(20, 150));
    }
  };
  const streams: Array<Promise<void>> = honest.map((h, i) => honestLoop(h, i));
  for (const who of people) {
    streams.push(collabFuzzStream({ rng: Rng.derive(seed, `collab-${who.role}-${who.id}`), world, who, targets: fuzzTargets(world, who), screen, until, honest: [...honest, ...readers], stats: collab }));
  }
  const pick = Rng.derive(seed, 'picks');
  for (let i = 0; i < 3; i++) {
    const who = pick.pick(people.filter((p) => p.role !== 'leadObserver' && p.role !== 'coordinator'));
    streams.push(socketFuzzStream({ rng: Rng.derive(seed, `socket-${i}`), world, who, screen, until, stats: socket }));
  }
  for (let i = 0; i < 3; i++) {
    streams.push(httpFuzzStream({ rng: Rng.derive(seed, `http-${i}`), world, who: pick.pick(people), screen, until, stats: http }));
  }
  const labels = [...honest.map((h) => `honest ${h.docName}`), ...people.map((p) => `collab ${p.role}`), 'socket', 'socket', 'socket', 'http', 'http', 'http'];
  const pendingStreams = new Set(labels.map((_, i) => i));
  const watchdog = setInterval(() => {
    if (Date.now() > until + 5000) console.log(`still running ${Date.now() - until} ms after the end:`, [...pendingStreams].map((i) => labels[i]));
  }, 5000);
  await Promise.all(streams.map((s, i) => s.finally(() => pendingStreams.delete(i))));
  clearInterval(watchdog);

  // Everything honest clients sent is acknowledged (or they were told why not).
  await waitFor('honest edits to be acknowledged', () => honest.every((h) => h.acknowledged || !h.link.open));
  const alive = server.child.exitCode === null && server.child.signalCode === null;
  const healthStatus = alive ? await fetch(`${server.baseUrl}/api/health`).then((r) => r.status, () => 0) : 0;
  const rss = alive ? rssKb(server.child.pid!) : 0;

  const names = sessionDocs(world).map((d) => d.name);
  const stored = loadStoredDocs(path.join(opts.dataDir, 'simstudio.db'), names);
  const findings: Finding[] = [
    ...checkDocuments(world, stored, honest, honestDocs(world)),
    ...checkSightings(world, screen.sightings, stored),
  ];
  for (const f of screen.forgedPresence.slice(0, 5)) {
    findings.push({ kind: 'forged', doc: 'presence', detail: `a ${f.receiver.role} (${f.receiver.id}) was told client ${f.clientId} (an honest client's) is ${f.state}` });
  }
  for (const h of [...honest, ...readers]) {
    if (h.unexpectedClose) findings.push({ kind: 'honest', doc: h.docName, detail: `the server closed an honest ${h.who.role}'s connection: ${h.unexpectedClose.code} ${h.unexpectedClose.reason}` });
    h.stop();
  }
  const lines = server.output().slice(opts.logOffset).split('\n');
  const faults = lines.filter((line) => HANDLER_FAULTS.test(line));
  const errors = new Map<string, number>();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; event?: string; err?: string };
      if ((entry.level ?? 0) < 50) continue;
      const key = `${entry.msg}${entry.event ? ` (${entry.event})` : ''}: ${String(entry.err ?? '').split('\n')[0]!.slice(0, 100)}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    } catch {
      // not a log line
    }
  }
  return { seed, sessionId: world.sessionId, findings, faults, errors, alive, healthStatus, rssKb: rss, collab, socket, http, honestEdits, ms: Date.now() - started };
}
