// Rotating the recording master key: every file's own key is rewrapped under the new master key
// (its 100-byte header is rewritten in place; the media chunks are untouched), then the
// database remembers the new key's fingerprint. The studio must be stopped while it runs (a
// running studio holds the old key). Interrupted, it can be run again with the same new key:
// files already rewrapped are recognised by their fingerprint and skipped.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/database.ts';
import { HEADER_BYTES, parseHeader, type RecordingMasterKey } from './recording-cipher.ts';
import { rememberRecordingKey } from './recording-key.ts';

export interface RotationOutcome {
  rewrapped: number;
  /** Already under the new key (an earlier, interrupted rotation). */
  alreadyNew: number;
  /** Rows whose file is absent (nothing recorded) or still plaintext (sealed at the next start). */
  notEncrypted: number;
}

export function rotateRecordingKey(db: Database, recordingsDir: string, current: RecordingMasterKey, next: RecordingMasterKey): RotationOutcome {
  const outcome: RotationOutcome = { rewrapped: 0, alreadyNew: 0, notEncrypted: 0 };
  const rows = db.prepare("SELECT file FROM recordings WHERE status != 'deleted'").all() as Array<{ file: string }>;
  for (const { file: relative } of rows) {
    const file = path.join(recordingsDir, relative);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch {
      outcome.notEncrypted += 1;
      continue;
    }
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      const read = fs.readSync(fd, header, 0, HEADER_BYTES, 0);
      let fingerprint: Buffer;
      try {
        fingerprint = parseHeader(header.subarray(0, read)).fingerprint;
      } catch {
        outcome.notEncrypted += 1;
        continue;
      }
      if (fingerprint.equals(next.fingerprint)) {
        outcome.alreadyNew += 1;
        continue;
      }
      // Unwrapping checks the file is under the current key (a clear error otherwise).
      const rewrapped = next.rewrap(header, current);
      fs.writeSync(fd, rewrapped, 0, HEADER_BYTES, 0);
      fs.fsyncSync(fd);
      outcome.rewrapped += 1;
    } finally {
      fs.closeSync(fd);
    }
  }
  rememberRecordingKey(db, next);
  return outcome;
}
