// `npm run admin -- rotate-recording-key [--new-key BASE64]`, with the studio stopped.
// With the key file (no SIMSTUDIO_RECORDING_KEY): a new key is generated (or taken from
// --new-key) and kept first in keys/recording-master.key.next, so an interrupted rotation is
// finished by running the command again; at the end it replaces keys/recording-master.key.
// With SIMSTUDIO_RECORDING_KEY: --new-key is required (the key lives in your secret store, not
// on this disk); set the variable to it before starting the studio again.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { RecordingMasterKey } from './recording-cipher.ts';
import { checkRecordingKey, decodeRecordingKey, loadOrCreateRecordingKey, recordingKeyFile } from './recording-key.ts';
import { rotateRecordingKey, type RotationOutcome } from './key-rotation.ts';

export interface RotationReport {
  outcome: RotationOutcome;
  /** The new key's fingerprint (the studio logs and checks it). */
  fingerprint: string;
  /** Where the new key is: the key file, or the variable to set. */
  newKey: string;
}

export function rotateRecordingKeyCommand(config: Config, db: Database, newKeyArg: string | undefined): RotationReport {
  const current = loadOrCreateRecordingKey(config.dataDir, config.recordingKey);
  const keyFile = recordingKeyFile(config.dataDir);
  const nextFile = `${keyFile}.next`;
  if (config.recordingKey && !newKeyArg) throw new Error('SIMSTUDIO_RECORDING_KEY is set: give the new key with --new-key (e.g. `openssl rand -base64 32`)');
  let nextBase64: string;
  if (newKeyArg) nextBase64 = newKeyArg;
  else if (fs.existsSync(nextFile)) nextBase64 = fs.readFileSync(nextFile, 'utf8');
  else nextBase64 = randomBytes(32).toString('base64');
  const next = new RecordingMasterKey(decodeRecordingKey(nextBase64, '--new-key'));
  // The database names the key the files are under; an interrupted rotation has already moved it only at its end.
  const remembered = db.prepare('SELECT fingerprint FROM recording_master_key WHERE id = 1').get() as { fingerprint: string } | undefined;
  if (remembered?.fingerprint !== next.fingerprintHex) checkRecordingKey(db, current);
  if (!config.recordingKey) {
    // The new key is on disk before any file depends on it.
    fs.writeFileSync(nextFile, `${nextBase64.trim()}\n`, { mode: 0o600 });
  }
  const outcome = rotateRecordingKey(db, path.join(config.dataDir, 'recordings'), current, next);
  // The old key is not kept: backups taken before the rotation carry their own copy.
  if (!config.recordingKey) fs.renameSync(nextFile, keyFile);
  return {
    outcome,
    fingerprint: next.fingerprintHex,
    newKey: config.recordingKey ? 'set SIMSTUDIO_RECORDING_KEY to the --new-key value before starting the studio' : keyFile,
  };
}
