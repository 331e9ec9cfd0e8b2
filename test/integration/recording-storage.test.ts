// ones untouched; recordings past the retention period are deleted, and the deletion logged.
import { recordingPlaintext, writeSealedRecording } from '../helpers/recording-files.ts';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { bookDay, testTemplate } from '../helpers/assessment.ts';
import { pollUntil } from '../helpers/browser.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { connectAs, joinAndProduceVideo, request, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
// Recording storage rules: a nearly full disk stops new recordings loudly and leaves existing

let studio: TestStudio | undefined;
let redis: TestRedis | undefined;
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  await studio?.close();
  studio = undefined;
});

const TEMPLATE = testTemplate('storage', 'Storage', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'hard' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' },
]);

/** Puts an already finished recording (file + row) in place, as if recorded earlier. */
function existingRecording(s: TestStudio, sessionId: string, participantId: string, endedAt: number): { id: string; file: string; sha256: string } {
  const id = '00000000-0000-4000-8000-000000000001';
  const relative = path.join(sessionId, `${id}.webm`);
  const file = path.join(s.recordings.dir, relative);
  writeSealedRecording(s, file, 'earlier evidence');
  const sha256 = createHash('sha256').update('earlier evidence').digest('hex');
  s.db
    .prepare(
      `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, ended_at, bytes, sha256)
       VALUES (?, ?, 1, '1', ?, 1, ?, ?, 'complete', ?, ?, 16, ?)`,
    )
    .run(id, sessionId, participantId, endedAt - 60_000, relative, endedAt - 60_000, endedAt, sha256);
  return { id, file, sha256 };
}

it('a nearly full disk stops new recordings with a loud warning and leaves existing ones intact', async () => {
  studio = await startTestStudio({ recording: { ...loadConfig({}).recording, minFreeBytes: Number.MAX_SAFE_INTEGER } });
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const earlier = existingRecording(studio, day.sessionId, day.candidate.id, Date.now());
  const lead = await connectAs(studio, day.lead);
  const candidate = await connectAs(studio, day.candidate);
  const recordingEvents: Array<{ state: string; detail: string }> = [];
  lead.on('recording', (s) => recordingEvents.push(s));
  await joinAndProduceVideo(candidate, 4242);
  await request(lead, 'dayControl', { action: 'start' });
  await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 });
  await pollUntil('failure announced', 5000, async () => recordingEvents.some((e) => e.state === 'failed'));
  expect(recordingEvents.find((e) => e.state === 'failed')?.detail).toMatch(/disk is nearly full/);
  expect(studio.recordings.pids(day.sessionId)).toEqual([]);
  expect(studio.logLines.some((l) => l.level === 50 && String(l.msg).includes('DISK NEARLY FULL'))).toBe(true);
  expect(studio.recordings.list(day.sessionId).map((r) => r.id)).toEqual([earlier.id]);
  expect(createHash('sha256').update(await recordingPlaintext(studio, earlier.file)).digest('hex')).toBe(earlier.sha256);
  lead.disconnect();
  candidate.disconnect();
});

it('recordings past the retention period are deleted at start-up, and the deletion is logged and audited', async () => {
  studio = await startTestStudio({ recording: { ...loadConfig({}).recording, minFreeBytes: 0, retentionDays: 30 } });
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const old = existingRecording(studio, day.sessionId, day.candidate.id, Date.now() - 31 * 86_400_000);
  const dataDir = studio.dataDir;
  await studio.close();
  studio = await startTestStudio({ recording: { ...loadConfig({}).recording, minFreeBytes: 0, retentionDays: 30 } }, dataDir);
  expect(fs.existsSync(old.file)).toBe(false);
  expect(studio.recordings.get(old.id)?.status).toBe('deleted');
  expect(studio.audit.list(day.sessionId).find((e) => e.action === 'recording.deleted')?.detail).toMatchObject({ id: old.id });
  expect(studio.logLines.some((l) => l.msg === 'recording deleted by retention' && l.id === old.id)).toBe(true);
});

it.each([
  { nodes: 'one studio process', cluster: false },
  { nodes: 'a node among several (written under its own folder, named on the row)', cluster: true },
])('the lead observer’s backup recording is stored in order, one file per recorder run, only while the server recorder is down; nobody else may upload — $nodes', async ({ cluster }) => {
  if (cluster) redis ??= await startRedis();
  studio = await startTestStudio(cluster ? { redisUrl: redis!.url, nodeName: 'node-x' } : {});
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const lead = await connectAs(studio, day.lead);
  const candidate = await connectAs(studio, day.candidate);
  const states: string[] = [];
  lead.on('recording', (s) => states.push(s.state));
  await joinAndProduceVideo(candidate, 5151);
  await request(lead, 'dayControl', { action: 'start' });
  await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 });
  const upload = async (who: typeof day.lead, seq: number, run: number, bytes: string): Promise<Response> =>
    fetch(`${studio!.baseUrl}/api/sessions/${day.sessionId}/fallback-recording?participantId=${who.id}&phaseIndex=1&seq=${seq}`, {
      method: 'POST',
      headers: { cookie: await signIn(studio!, who), 'content-type': 'video/webm', 'x-fallback-run': String(run), 'x-fallback-started-at': String(Date.now()) },
      body: bytes,
    });
  // The server records: a backup would be planted evidence.
  await pollUntil('server recorder running', 20_000, async () => studio!.recordings.pids(day.sessionId).length === 1);
  const planted = await upload(day.lead, 0, 1, 'planted');
  expect(planted.status).toBe(403);
  expect(await planted.json()).toMatchObject({ error: { code: 'FORBIDDEN', reason: 'RECORDER_NOT_DOWN' } });
  expect(studio.recordings.list(day.sessionId).filter((r) => r.status === 'fallback')).toEqual([]);

  // Its ffmpeg dies: the recorder is down (then replaced); a backup run begun now is taken.
  process.kill(studio.recordings.pids(day.sessionId)[0]!, 'SIGKILL');
  await pollUntil('recorder down', 10_000, async () => states.includes('restarting'));
  expect((await upload(day.lead, 0, 1, 'run1-chunk0')).status).toBe(204);
  expect((await upload(day.lead, 1, 1, 'run1-chunk1')).status).toBe(204);
  const skipped = await upload(day.lead, 5, 1, 'too far');
  expect(skipped.status).toBe(409);
  expect(await skipped.json()).toMatchObject({ error: { code: 'CONFLICT', reason: 'OUT_OF_ORDER', expectedSeq: 2 } });
  expect((await upload(day.lead, 2, 2, 'run2-chunk0')).status).toBe(204);
  expect((await upload(day.candidate, 3, 2, 'not yours')).status).toBe(403);
  expect((await upload(day.observer, 3, 2, 'not yours')).status).toBe(403);
  const backups = studio.recordings.list(day.sessionId).filter((r) => r.status === 'fallback');
  expect(backups.map((r) => r.segment).sort()).toEqual([1, 2]);
  const first = studio.recordings.get(backups.find((r) => r.segment === 1)!.id)!;
  // Encrypted on disk as it arrived: no byte of it in plaintext.
  expect(fs.readFileSync(first.file).includes('run1-chunk')).toBe(false);
  expect((await recordingPlaintext(studio, first.file)).toString('utf8')).toBe('run1-chunk0run1-chunk1');
  expect(first.sha256).toBe(createHash('sha256').update('run1-chunk0run1-chunk1').digest('hex'));
  const folder = cluster ? path.join(studio.recordings.dir, 'nodes', 'node-x', day.sessionId) : path.join(studio.recordings.dir, day.sessionId);
  expect(path.dirname(first.file)).toBe(folder);
  const nodes = (studio.db.prepare("SELECT DISTINCT node FROM recordings WHERE session_id = ?").all(day.sessionId) as Array<{ node: string | null }>).map((r) => r.node);
  expect(nodes).toEqual([cluster ? 'node-x' : null]);

  // The day ends: nothing more is taken, not even for a run that was accepted before.
  await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 1 });
  const late = await upload(day.lead, 3, 2, 'after the day');
  expect(late.status).toBe(409);
  expect(await late.json()).toMatchObject({ error: { reason: 'DAY_NOT_LIVE' } });
  const after = studio.recordings.get(backups.find((r) => r.segment === 2)!.id)!;
  expect((await recordingPlaintext(studio, after.file)).toString('utf8')).toBe('run2-chunk0');
  expect(after.bytes).toBe('run2-chunk0'.length);
  lead.disconnect();
  candidate.disconnect();
});
