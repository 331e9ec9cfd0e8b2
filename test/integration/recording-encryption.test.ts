// Recordings at rest (issue 15 item 8): after a restart, a segment cut off by a crash is
// completed and encrypted, a plaintext file from before encryption is encrypted in place, and
// files no row owns are removed; nothing on disk is WebM any more (ffprobe cannot read it),
// while the media route gives back the plaintext exactly, for any range. An altered chunk is
// an error, and a studio started with another master key refuses to start.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Participant } from '../../shared/domain.ts';
import { CHUNK_OVERHEAD, CHUNK_SIZE, HEADER_BYTES } from '../../server/recording/recording-cipher.ts';
import { recordingKeyFile } from '../../server/recording/recording-key.ts';
import { looksSealed } from '../helpers/recording-files.ts';
import { byRole, createSession, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { studioEnv } from '../helpers/postgres.ts';

let studio: TestStudio;
let dataDir: string;
let observer: Participant;
let cookie: string;
let legacy: { id: string; file: string; plain: Buffer };
let cut: { id: string; file: string };
const stray: string[] = [];

/** A 6-second VP8 + Opus WebM, a few chunks long. */
function makeWebm(file: string): Buffer {
  execFileSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '6', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-c:a', 'libopus', file,
  ]);
  return fs.readFileSync(file);
}

const probes = (file: string): boolean => spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }).status === 0;

function insertRow(s: TestStudio, id: string, sessionId: string, participantId: string, relative: string, status: string, plain?: Buffer): void {
  s.db
    .prepare(
      `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, ended_at, bytes, sha256)
       VALUES (?, ?, 1, '1', ?, 1, ?, ?, ?, ?, ?, ?, ?)`,
    )
    // Recorded a minute ago (well inside the retention period).
    .run(id, sessionId, participantId, Date.now() - 60_000, relative, status, Date.now() - 60_000, plain ? Date.now() : null, plain ? plain.length : null, plain ? createHash('sha256').update(plain).digest('hex') : null);
}

const media = (id: string, init: RequestInit & { range?: string } = {}): Promise<Response> =>
  fetch(`${studio.baseUrl}/api/recordings/${id}/media?participantId=${observer.id}`, {
    ...init,
    headers: { cookie, ...(init.range ? { range: init.range } : {}) },
  });

beforeAll(async () => {
  // A studio from before encryption: a finished plaintext recording, a segment a crash cut off
  // mid-recording, a standby file and a half-written encryption that no row owns.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-crypt-'));
  const first = await startTestStudio({}, dataDir);
  await first.recordings.repaired;
  const { sessionId, participants } = createSession(first);
  observer = byRole(participants, 'observer');
  const candidate = byRole(participants, 'candidate');
  const dir = path.join(first.recordings.dir, sessionId);
  fs.mkdirSync(dir, { recursive: true });
  const legacyId = '00000000-0000-4000-8000-00000000a001';
  const legacyFile = path.join(dir, `${legacyId}.webm`);
  const plain = makeWebm(legacyFile);
  insertRow(first, legacyId, sessionId, candidate.id, path.relative(first.recordings.dir, legacyFile), 'complete', plain);
  legacy = { id: legacyId, file: legacyFile, plain };
  const cutId = '00000000-0000-4000-8000-00000000a002';
  const cutFile = path.join(dir, `${cutId}.webm`);
  makeWebm(cutFile);
  insertRow(first, cutId, sessionId, candidate.id, path.relative(first.recordings.dir, cutFile), 'recording');
  cut = { id: cutId, file: cutFile };
  stray.push(path.join(dir, '00000000-0000-4000-8000-00000000a003.webm'), `${legacyFile}.enc-tmp`);
  for (const file of stray) fs.writeFileSync(file, plain.subarray(0, 5000));
  await first.close();

  studio = await startTestStudio({}, dataDir);
  await studio.recordings.repaired;
  cookie = await signIn(studio, observer);
}, 120_000);

afterAll(async () => {
  await studio?.close();
});

describe('recordings encrypted at rest', () => {
  it('start-up encrypts the plaintext file from before, completes and encrypts the cut segment, and removes what no row owns', async () => {
    for (const file of [legacy.file, cut.file]) {
      // No WebM header, and ffprobe finds no VP8 or Opus in it (nor a duration).
      expect(looksSealed(file)).toBe(true);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
    }
    for (const file of stray) expect(fs.existsSync(file), file).toBe(false);
    // The evidence is unchanged: the row's hash and size are the plaintext's.
    const legacyRow = studio.recordings.get(legacy.id)!;
    expect(legacyRow.bytes).toBe(legacy.plain.length);
    const served = Buffer.from(await (await media(legacy.id)).arrayBuffer());
    expect(served.equals(legacy.plain)).toBe(true);
    // The cut segment was finished (hash, size, duration of its plaintext) and plays.
    const cutRow = studio.recordings.get(cut.id)!;
    expect(cutRow.status).toBe('interrupted');
    expect(cutRow.durationMs).toBeGreaterThan(5000);
    const cutPlain = Buffer.from(await (await media(cut.id)).arrayBuffer());
    expect(cutPlain.length).toBe(cutRow.bytes);
    expect(createHash('sha256').update(cutPlain).digest('hex')).toBe(cutRow.sha256);
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-crypt-copy-')), 'cut.webm');
    fs.writeFileSync(copy, cutPlain);
    expect(probes(copy)).toBe(true);
    // The master key was generated into the data directory, private.
    expect((fs.statSync(recordingKeyFile(dataDir)).mode & 0o777).toString(8)).toBe('600');
  });

  it('answers ranges with exactly the plaintext slice, 416 past the end, and HEAD with headers only', async () => {
    const plain = legacy.plain;
    const size = plain.length;
    expect(size).toBeGreaterThan(3 * CHUNK_SIZE);
    const ranges: Array<[number, number]> = [[0, 0], [0, size - 1], [CHUNK_SIZE - 1, CHUNK_SIZE], [CHUNK_SIZE, 2 * CHUNK_SIZE - 1], [size - 1, size - 1], [2 * CHUNK_SIZE + 5, 3 * CHUNK_SIZE + 7]];
    for (let i = 0; i < 20; i++) {
      const start = randomBytes(4).readUInt32BE(0) % size;
      ranges.push([start, Math.min(size - 1, start + (randomBytes(4).readUInt32BE(0) % (2 * CHUNK_SIZE)))]);
    }
    for (const [start, end] of ranges) {
      const res = await media(legacy.id, { range: `bytes=${start}-${end}` });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect(Number(res.headers.get('content-length'))).toBe(end - start + 1);
      expect(Buffer.from(await res.arrayBuffer()).equals(plain.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    // Open-ended and suffix ranges; an end past the file is clipped.
    const open = await media(legacy.id, { range: `bytes=${size - 1000}-` });
    expect(open.headers.get('content-range')).toBe(`bytes ${size - 1000}-${size - 1}/${size}`);
    expect(Buffer.from(await open.arrayBuffer()).equals(plain.subarray(size - 1000))).toBe(true);
    const suffix = await media(legacy.id, { range: 'bytes=-500' });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(plain.subarray(size - 500))).toBe(true);
    const clipped = await media(legacy.id, { range: `bytes=10-${size + 5000}` });
    expect(clipped.headers.get('content-range')).toBe(`bytes 10-${size - 1}/${size}`);
    await clipped.arrayBuffer();
    // Past the end: 416, saying how large the recording is.
    const beyond = await media(legacy.id, { range: `bytes=${size}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`);
    // Several ranges, or a malformed one: the whole recording.
    for (const range of ['bytes=0-10,20-30', 'bytes=abc', 'items=0-5']) {
      const whole = await media(legacy.id, { range });
      expect(whole.status, range).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer()).length).toBe(size);
    }
    const head = await media(legacy.id, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const headRange = await media(legacy.id, { method: 'HEAD', range: 'bytes=100-199' });
    expect(headRange.status).toBe(206);
    expect(headRange.headers.get('content-length')).toBe('100');
  });

  it('an altered chunk is an error: 500 when the range starts in it, a broken transfer when reached mid-stream', async () => {
    const record = CHUNK_SIZE + CHUNK_OVERHEAD;
    const fd = fs.openSync(cut.file, 'r+');
    const at = HEADER_BYTES + 2 * record + 40; // inside chunk 2
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    fs.writeSync(fd, Buffer.from([byte[0]! ^ 0x80]), 0, 1, at);
    fs.closeSync(fd);
    const plainStart = (await media(cut.id, { range: `bytes=0-${CHUNK_SIZE - 1}` }));
    expect(plainStart.status).toBe(206);
    expect((await plainStart.arrayBuffer()).byteLength).toBe(CHUNK_SIZE);
    const inside = await media(cut.id, { range: `bytes=${2 * CHUNK_SIZE + 10}-${2 * CHUNK_SIZE + 20}` });
    expect(inside.status).toBe(500);
    expect(studio.logLines.some((l) => String(l.msg).includes('RECORDING DOES NOT DECRYPT'))).toBe(true);
    const whole = await media(cut.id);
    expect(whole.status).toBe(200);
    // The first two chunks arrive, then the transfer breaks: never altered bytes.
    await expect(whole.arrayBuffer()).rejects.toThrow();
  });

  it('refuses to start with another master key, saying which', async () => {
    await studio.close();
    const other = randomBytes(32).toString('base64');
    await expect(startTestStudio({ recordingKey: other }, dataDir)).rejects.toThrow(/wrong recording master key/);
    // The same key given in the variable is accepted.
    const same = fs.readFileSync(recordingKeyFile(dataDir), 'utf8').trim();
    studio = await startTestStudio({ recordingKey: same }, dataDir);
    await studio.recordings.repaired;
    cookie = await signIn(studio, observer);
    expect(Buffer.from(await (await media(legacy.id)).arrayBuffer()).equals(legacy.plain)).toBe(true);
  }, 60_000);

  it('`npm run admin -- rotate-recording-key` rewraps every file under a new key; the old key no longer opens them', async () => {
    await studio.close();
    const oldKey = fs.readFileSync(recordingKeyFile(dataDir), 'utf8').trim();
    const chunksBefore = fs.readFileSync(legacy.file).subarray(HEADER_BYTES);
    const run = spawnSync(process.execPath, ['server/admin-cli.ts', 'rotate-recording-key'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, ...studioEnv(dataDir), SIMSTUDIO_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { outcome: { rewrapped: number; alreadyNew: number }; fingerprint: string };
    expect(report.outcome).toMatchObject({ rewrapped: 2, alreadyNew: 0 });
    const newKey = fs.readFileSync(recordingKeyFile(dataDir), 'utf8').trim();
    expect(newKey).not.toBe(oldKey);
    expect((fs.statSync(recordingKeyFile(dataDir)).mode & 0o777).toString(8)).toBe('600');
    // Only the header changed: the media chunks are as they were.
    expect(fs.readFileSync(legacy.file).subarray(HEADER_BYTES).equals(chunksBefore)).toBe(true);
    expect(fs.readFileSync(legacy.file).subarray(32, 40).toString('hex')).toBe(report.fingerprint);
    await expect(startTestStudio({ recordingKey: oldKey }, dataDir)).rejects.toThrow(/wrong recording master key/);
    studio = await startTestStudio({}, dataDir);
    await studio.recordings.repaired;
    cookie = await signIn(studio, observer);
    expect(Buffer.from(await (await media(legacy.id)).arrayBuffer()).equals(legacy.plain)).toBe(true);
    expect(studio.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'recording.key-rotated'").get()).toEqual({ n: 1 });
  }, 60_000);
});
