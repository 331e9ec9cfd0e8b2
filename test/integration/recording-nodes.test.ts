// Several studio nodes on one data directory (and database): a node starting after a crash
// ends its own leftover recorder processes, completes its own cut segments and removes its own
// files no row owns, and touches nothing of another node's, which may be recording right now.
// A node gone silent for good has its cut segments completed by a live node.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { looksSealed } from '../helpers/recording-files.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { byRole, createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let redis: TestRedis | undefined;
let studio: TestStudio | undefined;
let survivor: TestStudio | undefined;
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await studio?.close();
  await survivor?.close();
  await redis?.stop();
});

/** A 2-second VP8 WebM. */
function makeWebm(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15', '-t', '2', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', file]);
}

/** A process whose command line names `file`, as a recorder writing it would. */
function processWriting(file: string): ChildProcess {
  const child = spawn('sh', ['-c', 'sleep 120', file], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const alive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/** One session's segments as nodes write them: files under each node's folder, rows naming it. */
function segmentsOf(studio: TestStudio) {
  const { sessionId, participants } = createSession(studio);
  const candidate = byRole(participants, 'candidate');
  const recordingsDir = studio.recordings.dir;
  const fileOf = (node: string, id: string): string => path.join(recordingsDir, 'nodes', node, sessionId, `${id}.webm`);
  /** A segment row still 'recording', started a minute or two ago, written by `node`. */
  const insert = (id: string, node: string): void => {
    studio.db
      .prepare(
        `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, node)
         VALUES (?, ?, 1, '1', ?, 1, ?, ?, 'recording', ?, ?)`,
      )
      .run(id, sessionId, candidate.id, Date.now() - 120_000, path.relative(recordingsDir, fileOf(node, id)), Date.now() - 120_000, node);
  };
  return { fileOf, insert };
}

it('at start-up, repairs and clears only what this node wrote', { timeout: 120_000 }, async () => {
  redis = await startRedis();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-rec-nodes-'));
  const cluster = { redisUrl: redis.url };
  const first = await startTestStudio({ ...cluster, nodeName: 'node-a' }, dataDir);
  await first.recordings.repaired;
  const { fileOf, insert } = segmentsOf(first);
  const ids = {
    ownCut: '00000000-0000-4000-8000-00000000b001',
    otherLive: '00000000-0000-4000-8000-00000000b002',
    ownStray: '00000000-0000-4000-8000-00000000b003',
    otherStandby: '00000000-0000-4000-8000-00000000b004',
  };
  // Node A crashed mid-segment; node B is recording a segment now, and has a standby running.
  makeWebm(fileOf('node-a', ids.ownCut));
  insert(ids.ownCut, 'node-a');
  makeWebm(fileOf('node-b', ids.otherLive));
  insert(ids.otherLive, 'node-b');
  const otherLiveBytes = fs.readFileSync(fileOf('node-b', ids.otherLive));
  fs.copyFileSync(fileOf('node-a', ids.ownCut), fileOf('node-a', ids.ownStray));
  fs.copyFileSync(fileOf('node-b', ids.otherLive), fileOf('node-b', ids.otherStandby));
  await first.close();
  const ownOrphan = processWriting(fileOf('node-a', ids.ownCut));
  const otherRecorder = processWriting(fileOf('node-b', ids.otherLive));

  studio = await startTestStudio({ ...cluster, nodeName: 'node-a' }, dataDir);
  await studio.recordings.repaired;

  // Its own: the recorder left behind ended, the cut segment completed and sealed, the stray file gone.
  await expect.poll(() => alive(ownOrphan), { timeout: 10_000 }).toBe(false);
  const own = studio.recordings.get(ids.ownCut)!;
  expect(own.status).toBe('interrupted');
  expect(own.sha256).toMatch(/^[0-9a-f]{64}$/);
  // It ended where its media ends (two minutes ago), not when it was repaired.
  expect(own.endedAt).toBe(own.startedAt + own.durationMs!);
  expect(own.endedAt!).toBeLessThan(Date.now() - 100_000);
  expect(looksSealed(fileOf('node-a', ids.ownCut))).toBe(true);
  expect(fs.existsSync(fileOf('node-a', ids.ownStray))).toBe(false);
  // Node B's: its recorder still runs, its live segment is as it wrote it, its standby is there.
  expect(alive(otherRecorder)).toBe(true);
  const other = studio.recordings.get(ids.otherLive)!;
  expect(other.status).toBe('recording');
  expect(other.sha256).toBeNull();
  expect(fs.readFileSync(fileOf('node-b', ids.otherLive)).equals(otherLiveBytes)).toBe(true);
  expect(fs.existsSync(fileOf('node-b', ids.otherStandby))).toBe(true);
});

it("completes the cut segments of a node gone silent, and of no node still alive", { timeout: 120_000 }, async () => {
  redis ??= await startRedis();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-rec-gone-'));
  survivor = await startTestStudio({ redisUrl: redis.url, nodeName: 'node-b' }, dataDir);
  await survivor.recordings.repaired;
  const { fileOf, insert } = segmentsOf(survivor);
  const ids = {
    gone: '00000000-0000-4000-8000-00000000c001',
    alive: '00000000-0000-4000-8000-00000000c002',
    unseen: '00000000-0000-4000-8000-00000000c003',
  };
  const seen = (node: string, at: number): void => {
    survivor!.db.prepare('INSERT INTO cluster_nodes (node, seen_at) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at').run(node, at);
  };
  // node-x died a minute ago mid-segment; node-y is alive (stamped now) and writing; node-z died
  // too but its file is not on this node's storage.
  seen('node-x', Date.now() - 60_000);
  seen('node-y', Date.now() + 600_000);
  seen('node-z', Date.now() - 60_000);
  makeWebm(fileOf('node-x', ids.gone));
  insert(ids.gone, 'node-x');
  makeWebm(fileOf('node-y', ids.alive));
  insert(ids.alive, 'node-y');
  const aliveBytes = fs.readFileSync(fileOf('node-y', ids.alive));
  insert(ids.unseen, 'node-z');

  // Taken over by the survivor, completed and sealed as the dead node's own start-up would.
  await expect.poll(() => survivor!.recordings.get(ids.gone)?.status, { timeout: 30_000 }).toBe('interrupted');
  const gone = survivor.recordings.get(ids.gone)!;
  expect(gone.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(gone.durationMs).toBeGreaterThan(1500);
  expect(gone.endedAt).toBe(gone.startedAt + gone.durationMs!);
  expect(looksSealed(fileOf('node-x', ids.gone))).toBe(true);
  expect(survivor.db.prepare('SELECT node FROM recordings WHERE id = ?').get(ids.gone)).toEqual({ node: 'node-b' });
  // The live node's segment and the unseen file's row are as they were.
  const alive = survivor.recordings.get(ids.alive)!;
  expect(alive.status).toBe('recording');
  expect(alive.sha256).toBeNull();
  expect(fs.readFileSync(fileOf('node-y', ids.alive)).equals(aliveBytes)).toBe(true);
  expect(survivor.recordings.get(ids.unseen)!.status).toBe('recording');
  // Its own presence is stamped every second.
  const own = survivor.db.prepare("SELECT seen_at FROM cluster_nodes WHERE node = 'node-b'").get() as { seen_at: number | bigint };
  expect(Date.now() - Number(own.seen_at)).toBeLessThan(5_000);

  // The dead node, started again under its name, leaves the segment taken over as it is.
  const sealed = fs.readFileSync(fileOf('node-x', ids.gone));
  const back = await startTestStudio({ redisUrl: redis.url, nodeName: 'node-x' }, dataDir);
  try {
    await back.recordings.repaired;
    expect(back.recordings.get(ids.gone)!.sha256).toBe(gone.sha256);
    expect(fs.readFileSync(fileOf('node-x', ids.gone)).equals(sealed)).toBe(true);
  } finally {
    await back.close();
  }
});
