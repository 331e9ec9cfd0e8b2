// Recording files are encrypted at rest (server/recording/recording-cipher.ts): tests that put
// a finished recording in place seal it as the recorder does, and tests that inspect one read
// its plaintext through the studio's key.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decryptToBuffer, encryptBuffer, encryptInPlace } from '../../server/recording/recording-cipher.ts';
import type { Studio } from '../../server/studio.ts';

/** Writes `bytes` as a finished (encrypted) recording file. */
export function writeSealedRecording(studio: Pick<Studio, 'recordings'>, file: string, bytes: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encryptBuffer(Buffer.from(bytes), studio.recordings.masterKey), { mode: 0o600 });
}

/** Encrypts a plaintext recording file in place, as the recorder does when a segment is finished. */
export function sealRecordingFile(studio: Pick<Studio, 'recordings'>, file: string): Promise<void> {
  return encryptInPlace(file, studio.recordings.masterKey);
}

/** The plaintext of a recording file. */
export function recordingPlaintext(studio: Pick<Studio, 'recordings'>, file: string): Promise<Buffer> {
  return decryptToBuffer(file, studio.recordings.masterKey);
}

/** A decrypted copy of a recording in a temporary file, for ffprobe/ffmpeg. */
export async function plaintextCopy(studio: Pick<Studio, 'recordings'>, file: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-plain-'));
  const copy = path.join(dir, `${path.basename(file, '.webm')}.webm`);
  fs.writeFileSync(copy, await recordingPlaintext(studio, file));
  return copy;
}

/** The codecs ffprobe finds in a file (none for an encrypted recording: it may guess a format
 *  from random bytes now and then, but never finds the VP8 and Opus streams). */
export function probedCodecs(file: string): string[] {
  const run = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return run.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Whether a file on disk is in the encrypted format, with no WebM (EBML) header. */
export function looksSealed(file: string): boolean {
  const head = fs.readFileSync(file).subarray(0, 8);
  return head.toString('latin1') === 'SSRECENC' && !probedCodecs(file).some((c) => c === 'vp8' || c === 'opus');
}
