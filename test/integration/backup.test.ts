// Issue 15 item 9: a backup taken MID-DAY from a running studio restores to the same day. A real
// server process runs a day with Chromium candidate and actor on camera: scenario 1 recorded and
// finished, the lead observer's marks in their scoring sheet, the written exercise typed and
// frozen, and scenario 2 being recorded when `npm run backup` runs. Restore refuses while the
// studio runs; after it is killed, the data directory is wiped, restored, and the studio started
// again: the session, its day, the marks, the written text and the recordings (byte hashes) are
// as they were at the backup, and a mark made after it is not there.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { WRITTEN_FRAGMENT, collabDocName, sheetDocName, type WrittenStatus } from '../../shared/collab.ts';
import { ratingKey } from '../../shared/rubric.ts';
import { plainText } from '../../shared/written-text.ts';
import { ManifestSchema } from '../../server/backup/manifest.ts';
import { testTemplate } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pollUntil } from '../helpers/browser.ts';
import { RawCollabClient, collabUrl, typeParagraph } from '../helpers/collab-client.ts';
import {
  bookOnServer,
  cookieFor,
  dayControl,
  dayStateOnConnect,
  freePort,
  inviteOf,
  kill9,
  startServerProcess,
  type ServerDay,
  type ServerInvite,
  type ServerProcess,
} from '../helpers/server-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENV = { SIMSTUDIO_WRITTEN_GRACE_SECONDS: '0' };
const SCENARIO_1 = 1;
const WRITTEN = 2;
const SCENARIO_2 = 4;
const TEMPLATE = testTemplate('backup-midday', 'Backup mid-day', 2, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 600, timer: 'soft' },
  { kind: 'briefing', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);
const WRITTEN_TEXT = 'Risk assessment: the child is safe tonight; review with the family on Monday.';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-backup-'));
const dataDir = path.join(work, 'data');
const backupDir = path.join(work, 'backup');
let server: ServerProcess | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  if (server) await kill9(server);
  fs.rmSync(work, { recursive: true, force: true });
});

interface RecordingRow {
  id: string;
  phase_index: number;
  participant_id: string;
  file: string;
  status: string;
  bytes: number | null;
  sha256: string | null;
}

/** The studio's own rows, read through a connection of the test's (WAL: readers never block). */
function recordingRows(sessionId: string): RecordingRow[] {
  const db = new DatabaseSync(path.join(dataDir, 'simstudio.db'));
  try {
    return db.prepare("SELECT * FROM recordings WHERE session_id = ? AND status != 'fallback' ORDER BY id").all(sessionId) as unknown as RecordingRow[];
  } finally {
    db.close();
  }
}

const fileOf = (row: RecordingRow): string => path.join(dataDir, 'recordings', row.file);
const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const sizeOf = (file: string): number => (fs.existsSync(file) ? fs.statSync(file).size : 0);

function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function openDoc(invite: ServerInvite, docName: string): Promise<RawCollabClient> {
  const client = new RawCollabClient(collabUrl(server!.baseUrl, docName, invite.participantId), { cookie: await cookieFor(invite.link, invite.participantId) });
  await client.synced;
  return client;
}

async function writtenStatus(day: ServerDay): Promise<WrittenStatus> {
  const candidate = inviteOf(day, 'candidate');
  const res = await fetch(`${server!.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${candidate.participantId}`, {
    headers: { cookie: await cookieFor(candidate.link, candidate.participantId) },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as WrittenStatus;
}

/** Every file of a directory tree with its hash: to show a refused restore changed nothing. */
function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = sha256(full);
  }
  return out;
}

it('backs up a running day mid-scenario and restores it: day, marks, written text and recordings as they were', async () => {
  const port = await freePort();
  server = await startServerProcess(dataDir, port, ENV);
  const day = await bookOnServer(server, dataDir, TEMPLATE);
  const lead = inviteOf(day, 'leadObserver');

  // Candidate and actor on camera all day.
  browser = await launchBrowser();
  for (const role of ['candidate', 'actor'] as const) {
    const { page } = await openInvite(browser, inviteOf(day, role).link);
    const join = page.getByTestId('join-button');
    await pollUntil(`${role} device check`, 30_000, () => join.isEnabled().catch(() => false));
    await join.click();
  }
  const { socket: control } = await dayStateOnConnect(server, lead);
  let state = await dayControl(control, { action: 'start' });
  state = await dayControl(control, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  expect(state.phaseIndex).toBe(SCENARIO_1);

  // The lead observer marks scenario 1 in their own sheet.
  const sheetName = sheetDocName(day.sessionId, lead.participantId, 1);
  const sheet = await openDoc(lead, sheetName);
  const markKey = ratingKey(lead.participantId, 1, 'kss-1');
  const laterKey = ratingKey(lead.participantId, 1, 'kss-2');
  sheet.ydoc.getMap('ratings').set(markKey, 3);
  await expect.poll(() => sheet.serverView.getMap('ratings').get(markKey)).toBe(3);

  const recordedWithMedia = (phaseIndex: number) => async () => {
    const rows = recordingRows(day.sessionId).filter((r) => r.phase_index === phaseIndex && r.status === 'recording' && sizeOf(fileOf(r)) > 50_000);
    return new Set(rows.map((r) => r.participant_id)).size === 2;
  };
  await pollUntil('scenario 1 recorded with media for candidate and actor', 60_000, recordedWithMedia(SCENARIO_1));

  // The written exercise: scenario 1's segments finish; the candidate types; it freezes on leaving.
  state = await dayControl(control, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  expect(state.phaseIndex).toBe(WRITTEN);
  const written = await openDoc(inviteOf(day, 'candidate'), collabDocName(day.sessionId, 'written'));
  typeParagraph(written.ydoc, WRITTEN_TEXT);
  await expect.poll(() => plainText(written.serverView.getXmlFragment(WRITTEN_FRAGMENT))).toContain(WRITTEN_TEXT);
  state = await dayControl(control, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  const frozen = await pollUntil('written exercise frozen', 30_000, async () => {
    const s = await writtenStatus(day);
    return s.status === 'submitted' ? s.frozen : undefined;
  });
  expect(frozen?.text).toBe(WRITTEN_TEXT);
  written.close();
  await pollUntil('scenario 1 segments finished', 60_000, async () => {
    const rows = recordingRows(day.sessionId).filter((r) => r.phase_index === SCENARIO_1);
    return rows.length >= 2 && rows.every((r) => r.sha256 !== null);
  });

  // Scenario 2 is being recorded when the backup runs.
  state = await dayControl(control, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  expect(state.phaseIndex).toBe(SCENARIO_2);
  await pollUntil('scenario 2 recording with media for candidate and actor', 60_000, recordedWithMedia(SCENARIO_2));

  const finished = recordingRows(day.sessionId).filter((r) => r.phase_index === SCENARIO_1 && r.sha256 !== null && r.bytes! > 0);
  expect(new Set(finished.map((r) => r.participant_id)).size).toBe(2);
  const finishedHashes = new Map(finished.map((r) => [r.id, sha256(fileOf(r))]));
  // The stored hash is the file's (the studio hashed what it wrote).
  for (const r of finished) expect(finishedHashes.get(r.id)).toBe(r.sha256);

  const backup = await run('server/backup/backup-cli.ts', [backupDir, '--data-dir', dataDir]);
  expect(backup.stderr).toBe('');
  expect(backup.code).toBe(0);
  expect(backup.stdout).toMatch(/the studio was running/);
  const manifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')));
  expect(manifest.studioWasRunning).toBe(true);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  expect(listed.has('simstudio.db')).toBe(true);
  expect(listed.get('secret.key')?.sha256).toBe(sha256(path.join(dataDir, 'secret.key')));
  for (const r of finished) expect(listed.get(`recordings/${r.file}`)?.sha256).toBe(finishedHashes.get(r.id));
  // Scenario 2's segments were being written: the manifest says so, and holds what was written.
  const inFlightIds = new Set(manifest.inFlight.map((f) => f.recordingId));
  const scenario2 = recordingRows(day.sessionId).filter((r) => r.phase_index === SCENARIO_2 && inFlightIds.has(r.id));
  expect(new Set(scenario2.map((r) => r.participant_id)).size).toBe(2);
  for (const r of scenario2) expect(listed.get(`recordings/${r.file}`)!.bytes).toBeGreaterThan(50_000);
  for (const f of manifest.files) expect(fs.statSync(path.join(backupDir, f.path)).mode & 0o777).toBe(0o600);

  // After the backup: a mark the restored studio must not have.
  sheet.ydoc.getMap('ratings').set(laterKey, 1);
  await expect.poll(() => sheet.serverView.getMap('ratings').get(laterKey)).toBe(1);
  sheet.close();

  // Restore refuses while the studio runs, and changes nothing.
  const before = treeHashes(backupDir);
  const refused = await run('server/backup/restore-cli.ts', [backupDir, '--data-dir', dataDir]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/restore refused: a studio is running on/);
  expect(fs.readdirSync(work).sort()).toEqual(['backup', 'data']);
  expect(treeHashes(backupDir)).toEqual(before);

  control.disconnect();
  await browser.close();
  browser = undefined;
  await kill9(server);
  server = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });

  const restored = await run('server/backup/restore-cli.ts', [backupDir, '--data-dir', dataDir]);
  expect(restored.stderr).toBe('');
  expect(restored.code).toBe(0);
  expect(restored.stdout).toMatch(/being written at backup time/);
  expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
  // Finished recordings are back byte for byte, before the studio touches anything.
  for (const r of finished) expect(sha256(fileOf(r))).toBe(finishedHashes.get(r.id));

  server = await startServerProcess(dataDir, port, ENV);
  // The session and its day, where the backup left it.
  const { state: resumed, socket: control2 } = await dayStateOnConnect(server, lead);
  control2.disconnect();
  expect(resumed.sessionId).toBe(day.sessionId);
  expect(resumed.status).toBe('running');
  expect(resumed.phaseIndex).toBe(SCENARIO_2);
  // The marks as at the backup, not the one made after it.
  const restoredSheet = await openDoc(lead, sheetName);
  expect(restoredSheet.ydoc.getMap('ratings').get(markKey)).toBe(3);
  expect(restoredSheet.ydoc.getMap('ratings').has(laterKey)).toBe(false);
  restoredSheet.close();
  // The frozen written exercise, text and hash.
  const restoredWritten = await writtenStatus(day);
  expect(restoredWritten.status).toBe('submitted');
  expect(restoredWritten.frozen).toEqual(frozen);
  // Finished recordings: rows and files as they were. In-flight ones: completed as cut off.
  await pollUntil('in-flight segments completed as cut off', 60_000, async () => {
    const now = new Map(recordingRows(day.sessionId).map((r) => [r.id, r]));
    return scenario2.every((r) => now.get(r.id)?.status === 'interrupted' && now.get(r.id)?.sha256);
  });
  const after = new Map(recordingRows(day.sessionId).map((r) => [r.id, r]));
  for (const r of finished) {
    expect(after.get(r.id)).toMatchObject({ status: r.status, bytes: r.bytes, sha256: r.sha256 });
    expect(sha256(fileOf(r))).toBe(finishedHashes.get(r.id));
  }
  for (const r of scenario2) {
    expect(sha256(fileOf(after.get(r.id)!))).toBe(after.get(r.id)!.sha256);
    // What was written of it before the backup plays end to end.
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', fileOf(r), '-f', 'null', '-'], { encoding: 'utf8' });
    expect(`${decode.status} ${decode.stderr.trim()}`).toBe('0 ');
  }
}, 480_000);
