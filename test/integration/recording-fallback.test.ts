// The lead observer's backup upload cannot plant evidence or exhaust the server (issue 11,
// row 10): refused before its body is read unless authenticated (a server process keeps its
// memory while 40 big unauthenticated uploads are held open), streamed to disk with a size
// cap per run that cuts a body off mid-way and leaves nothing of it behind.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { bookDay, testTemplate } from '../helpers/assessment.ts';
import { pollUntil } from '../helpers/browser.ts';
import { freePort, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { connectAs, joinAndProduceVideo, request, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { encryptedSize } from '../../server/recording/recording-cipher.ts';
import { recordingPlaintext } from '../helpers/recording-files.ts';

let studio: TestStudio | undefined;
let server: ServerProcess | undefined;
afterEach(async () => {
  await studio?.close();
  studio = undefined;
  if (server) await kill9(server);
  server = undefined;
});

const TEMPLATE = testTemplate('fallback', 'Fallback', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'hard' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' },
]);

interface RawAnswer {
  status: number;
  body: string;
  /** Body bytes written before the answer came. */
  sentBeforeAnswer: number;
}

interface Upload {
  answer: Promise<RawAnswer>;
  /** Body bytes written so far. */
  sent: () => number;
  answered: () => boolean;
  destroy: () => void;
}

/**
 * POSTs `total` bytes in 16 kB pieces, slowly enough that the server answers before the end
 * if it answers early. `declared`: the Content-Length to claim (null: chunked); when it is
 * larger than `total`, the request is held open after `total` bytes.
 */
function startUpload(url: string, headers: Record<string, string>, total: number, declared: number | null = total): Upload {
  let sent = 0;
  let answered = false;
  const req = http.request(url, { method: 'POST', headers: { ...headers, ...(declared === null ? {} : { 'content-length': String(declared) }) } });
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sentBeforeAnswer }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, sentBeforeAnswer }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
  });
  answer.catch(() => undefined);
  const piece = Buffer.alloc(16 * 1024, 7);
  const pump = (): void => {
    if (answered || req.destroyed) return;
    if (sent >= total) {
      if (declared === null || declared === total) req.end();
      return;
    }
    const n = Math.min(piece.length, total - sent);
    sent += n;
    req.write(piece.subarray(0, n), () => setTimeout(pump, 2));
  };
  pump();
  return { answer, sent: () => sent, answered: () => answered, destroy: () => req.destroy() };
}

function rawUpload(url: string, headers: Record<string, string>, total: number, declare = true): Promise<RawAnswer> {
  return startUpload(url, headers, total, declare ? total : null).answer;
}

it('a body over the run cap is cut off with 413 and nothing of it stays; a declared one is refused before it is read', async () => {
  studio = await startTestStudio({ recording: { ...loadConfig({}).recording, fallbackRunBytes: 100_000 } });
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const lead = await connectAs(studio, day.lead);
  const candidate = await connectAs(studio, day.candidate);
  const states: string[] = [];
  lead.on('recording', (s) => states.push(s.state));
  await joinAndProduceVideo(candidate, 6161);
  await request(lead, 'dayControl', { action: 'start' });
  await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 });
  await pollUntil('server recorder running', 20_000, async () => studio!.recordings.pids(day.sessionId).length === 1);
  process.kill(studio.recordings.pids(day.sessionId)[0]!, 'SIGKILL');
  await pollUntil('recorder down', 10_000, async () => states.includes('restarting'));

  const cookie = await signIn(studio, day.lead);
  const url = (seq: number): string => `${studio!.baseUrl}/api/sessions/${day.sessionId}/fallback-recording?participantId=${day.lead.id}&phaseIndex=1&seq=${seq}`;
  const headers = (run: number): Record<string, string> => ({ cookie, 'content-type': 'video/webm', 'x-fallback-run': String(run), 'x-fallback-started-at': String(Date.now()) });
  const backups = () => studio!.recordings.list(day.sessionId).filter((r) => r.status === 'fallback');
  const sessionDir = path.join(studio.recordings.dir, day.sessionId);
  const filesOnDisk = () => fs.readdirSync(sessionDir).filter((f) => !f.endsWith('.sdp'));
  const before = new Set(filesOnDisk());

  expect((await rawUpload(url(0), headers(1), 60_000)).status).toBe(204);
  const [run1] = backups();
  const run1File = studio.recordings.get(run1!.id)!.file;
  expect(fs.statSync(run1File).size).toBe(encryptedSize(60_000));
  expect((await recordingPlaintext(studio, run1File)).length).toBe(60_000);

  // Chunked (no declared length): streamed, and cut off when the run's cap is passed.
  const cut = await rawUpload(url(1), headers(1), 150_000, false);
  expect(cut.status).toBe(413);
  expect(JSON.parse(cut.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', reason: 'RUN_TOO_LARGE' } });
  expect(cut.sentBeforeAnswer).toBeLessThan(150_000);
  expect(fs.statSync(run1File).size).toBe(encryptedSize(60_000));
  expect(backups().map((r) => [r.segment, r.bytes])).toEqual([[1, 60_000]]);

  // A new run over the cap: its file is removed, no row.
  const newRun = await rawUpload(url(1), headers(2), 150_000, false);
  expect(newRun.status).toBe(413);
  expect(backups()).toHaveLength(1);
  expect(filesOnDisk().filter((f) => !before.has(f))).toEqual([path.basename(run1File)]);

  // Declared too large: refused at once, before the body.
  const declared = await rawUpload(url(1), headers(1), 2_000_000);
  expect(declared.status).toBe(413);
  expect(declared.sentBeforeAnswer).toBeLessThan(2_000_000);
  expect(fs.statSync(run1File).size).toBe(encryptedSize(60_000));
  lead.disconnect();
  candidate.disconnect();
}, 60_000);

it('an unauthenticated upload is refused before its body is read, and 40 held-open big ones do not grow the server', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-fallback-'));
  server = await startServerProcess(dataDir, await freePort());
  const url = `${server.baseUrl}/api/sessions/some-session/fallback-recording?participantId=someone&phaseIndex=1&seq=0`;
  const headers = { 'content-type': 'video/webm', 'x-fallback-run': '1', 'x-fallback-started-at': String(Date.now()) };

  const one = await rawUpload(url, headers, 8 * 1024 * 1024);
  expect(one.status).toBe(401);
  expect(one.sentBeforeAnswer).toBeLessThan(8 * 1024 * 1024);

  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server!.child.pid}/status`, 'utf8'))![1]) * 1024;
  const baseline = rss();
  // 40 uploads that each declare 8 MB, push 4 MB and hold the connection open (as the issue measured).
  const uploads = Array.from({ length: 40 }, () => startUpload(url, headers, 4 * 1024 * 1024, 8 * 1024 * 1024));
  const failed = uploads.map((u) => u.answer.then(() => false, () => true));
  const settled = await Promise.all(
    uploads.map((u, i) => Promise.race([failed[i]!, expect.poll(() => u.answered() || u.sent() >= 4 * 1024 * 1024, { timeout: 30_000 }).toBe(true)])),
  );
  const grown = rss() - baseline;
  const answers = await Promise.all(uploads.map((u) => (u.answered() ? u.answer : Promise.resolve(null))));
  for (const u of uploads) u.destroy();
  expect(settled).toHaveLength(40);
  expect(answers.filter((a) => a?.status === 401).length + (await Promise.all(failed)).filter(Boolean).length).toBe(40);
  expect(grown).toBeLessThan(40 * 1024 * 1024);
  // Still serving.
  expect((await fetch(`${server.baseUrl}/api/health`)).status).toBeLessThan(600);
}, 60_000);
