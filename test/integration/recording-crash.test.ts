// A server SIGKILLed while it records (issue 11, row 11): no ffmpeg outlives it, and on restart
// every segment it cut off is completed — hash, size and duration stored — and decodes end to
// end. A recorder process that did outlive its server (planted here) is ended at start-up.
// Real server process, real SIGKILL, real Chromium sending camera and microphone.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { io } from 'socket.io-client';
import { processesMentioning } from '../../media/recording/tied-child.ts';
import { RecordingMasterKey, decryptToBuffer } from '../../server/recording/recording-cipher.ts';
import { decodeRecordingKey, recordingKeyFile } from '../../server/recording/recording-key.ts';
import { looksSealed } from '../helpers/recording-files.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { openAssessment, openData } from '../../server/studio.ts';
import { TemplatesRepo } from '../../server/assessment/templates-repo.ts';
import { booking, testTemplate } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pollUntil } from '../helpers/browser.ts';
import { cookieFor, freePort, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { studioEnv } from '../helpers/postgres.ts';

const TEMPLATE = testTemplate('recording-crash', 'Recording crash', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
]);

let server: ServerProcess | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  if (server) await kill9(server);
});

function parentOf(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
  } catch {
    return -1;
  }
}

interface Row {
  id: string;
  participant_id: string;
  file: string;
  status: string;
  bytes: number | null;
  sha256: string | null;
  duration_ms: number | null;
}

it('leaves no ffmpeg behind after a SIGKILL, and completes every cut segment on restart', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-rec-crash-'));
  const recordingsDir = path.join(dataDir, 'recordings');
  const port = await freePort();
  const data = openData(loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_PORT: String(port) }));
  const assessment = openAssessment(data, createLogger('silent'));
  const template = new TemplatesRepo(data.db).saveNewVersion(TEMPLATE);
  const { sessionId, participants } = assessment.book(booking(template.id, { actors: [{ displayName: 'Ada', scenarios: [1] }] }));
  const who = (role: string) => participants.find((p) => p.role === role)!;
  // Info level: when a recording stalls, what the taps and recorders said is the diagnosis.
  server = await startServerProcess(dataDir, port, { SIMSTUDIO_LOG_LEVEL: 'info' });
  const baseUrl = server.baseUrl;

  browser = await launchBrowser();
  for (const p of [who('candidate'), who('actor')]) {
    const { page } = await openInvite(browser, await data.invites.link(baseUrl, p));
    const join = page.getByTestId('join-button');
    await pollUntil(`${p.role} device check`, 30_000, () => join.isEnabled().catch(() => false));
    await join.click();
  }
  const lead = who('leadObserver');
  const leadSocket = io(baseUrl, {
    auth: { participantId: lead.id },
    extraHeaders: { cookie: await cookieFor(await data.invites.link(baseUrl, lead), lead.id) },
    transports: ['websocket'],
    forceNew: true,
  });
  const control = (payload: object): Promise<void> =>
    new Promise((resolve, reject) => leadSocket.emit('dayControl', payload as never, (r: { ok: boolean; error?: { message: string } }) => (r.ok ? resolve() : reject(new Error(r.error?.message)))));
  await pollUntil('lead connected', 10_000, async () => leadSocket.connected);
  await control({ action: 'start' });
  await control({ action: 'advance', fromPhaseIndex: 0 });

  const rows = (): Row[] => data.db.prepare("SELECT * FROM recordings WHERE session_id = ? AND status != 'fallback'").all(sessionId) as unknown as Row[];
  const hasMedia = (r: Row): boolean => {
    try {
      return fs.statSync(path.join(recordingsDir, r.file)).size > 50_000;
    } catch {
      return false;
    }
  };
  await pollUntil('both participants recorded with media', 60_000, async () => {
    const live = rows().filter((r) => r.status === 'recording' && hasMedia(r));
    return new Set(live.map((r) => r.participant_id)).size === 2;
  }).catch((e: Error) => {
    // Say what there was: which segments, how big, and what the server logged.
    const sizes = rows().map((r) => `${r.participant_id.slice(0, 8)} ${r.status} ${fs.existsSync(path.join(recordingsDir, r.file)) ? fs.statSync(path.join(recordingsDir, r.file)).size : 'no file'}`);
    const media = (server?.output() ?? '').split('\n').filter((l) => /recorder|taps|tap|segment|producer|consumer|warn|error/i.test(l));
    throw new Error(`${e.message}\nsegments: ${sizes.join('; ')}\nserver: ${media.slice(-80).join('\n')}`);
  });
  const cut = rows().filter((r) => r.status === 'recording');
  expect(processesMentioning(`${recordingsDir}/`).length).toBeGreaterThanOrEqual(2);

  leadSocket.disconnect();
  await kill9(server);
  server = undefined;
  // Tied to the server's life: the kernel kills every recorder with it (start-up repairs the files).
  await pollUntil('no recorder outlives the server', 10_000, async () => processesMentioning(`${recordingsDir}/`).length === 0);

  // One that did outlive it (as if started without the tie): the next start must end it.
  const planted = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=5', '-f', 'webm', '-y', path.join(recordingsDir, sessionId, 'left-over.webm')], {
    stdio: 'ignore',
  });
  await pollUntil('planted recorder running', 10_000, async () => processesMentioning(`${recordingsDir}/`).includes(planted.pid!));
  const plantedExit = new Promise((resolve) => planted.once('exit', resolve));

  server = await startServerProcess(dataDir, port);
  await plantedExit;
  await pollUntil('cut segments completed', 60_000, async () => {
    const now = new Map(rows().map((r) => [r.id, r]));
    return cut.every((r) => now.get(r.id)?.sha256 && now.get(r.id)?.duration_ms !== null);
  });
  const repaired = rows().filter((r) => cut.some((c) => c.id === r.id));
  expect(repaired).toHaveLength(cut.length);
  // Completed, then encrypted: ffprobe cannot read what is on disk; its plaintext is the evidence.
  const key = new RecordingMasterKey(decodeRecordingKey(fs.readFileSync(recordingKeyFile(dataDir), 'utf8'), 'the key file'));
  for (const r of repaired) {
    const sealed = path.join(recordingsDir, r.file);
    expect(looksSealed(sealed)).toBe(true);
    const bytes = await decryptToBuffer(sealed, key);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-crash-plain-')), `${r.id}.webm`);
    fs.writeFileSync(file, bytes);
    expect(r.status).toBe('interrupted');
    expect(r.bytes).toBe(bytes.length);
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    // The stored duration is the file's own (how much was recorded before the kill depends on load).
    const probed = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    expect(r.duration_ms).toBeGreaterThan(0);
    expect(Math.abs(r.duration_ms! - Number(probed.stdout.trim()) * 1000)).toBeLessThan(100);
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(`${decode.status} ${decode.stderr.trim()}`).toBe('0 ');
  }
  // Whatever records now belongs to the new server.
  for (const pid of processesMentioning(`${recordingsDir}/`)) expect(parentOf(pid)).toBe(server.child.pid);
}, 240_000);
