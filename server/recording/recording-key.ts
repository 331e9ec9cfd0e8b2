// The recording master key: SIMSTUDIO_RECORDING_KEY (base64 of 32 bytes) when set, otherwise
// generated once into <dataDir>/keys/recording-master.key (0600, in a 0700 folder; a backup of
// the data directory carries it). The database remembers the key's fingerprint, so starting
// with another key (a changed variable, a lost key file) stops the studio with a clear error
// instead of serving recordings that no longer decrypt.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, tightenIfPresent } from '../data-dir.ts';
import type { Database } from '../db/database.ts';
import { RecordingMasterKey } from './recording-cipher.ts';

export function recordingKeyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'recording-master.key');
}

/** Decodes a base64 master key, refusing anything but 32 bytes. */
export function decodeRecordingKey(base64: string, where: string): Buffer {
  const trimmed = base64.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) || key.length !== 32) {
    throw new Error(`${where} must be the base64 of 32 random bytes (e.g. \`openssl rand -base64 32\`), not ${key.length} bytes`);
  }
  return key;
}

/** The configured master key bytes (from the environment or the key file, generated if neither). */
export function loadOrCreateRecordingKey(dataDir: string, fromEnv: string | undefined): RecordingMasterKey {
  if (fromEnv) return new RecordingMasterKey(decodeRecordingKey(fromEnv, 'SIMSTUDIO_RECORDING_KEY'));
  const file = recordingKeyFile(dataDir);
  ensurePrivateDir(path.dirname(file));
  try {
    const stored = fs.readFileSync(file, 'utf8');
    tightenIfPresent(file);
    return new RecordingMasterKey(decodeRecordingKey(stored, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // 'wx': never overwrite a key another process wrote first.
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return loadOrCreateRecordingKey(dataDir, undefined);
}

/**
 * Refuses a master key other than the one the stored recordings were encrypted with (the
 * first start remembers the key's fingerprint).
 */
export function checkRecordingKey(db: Database, key: RecordingMasterKey): void {
  const row = db.prepare('SELECT fingerprint FROM recording_master_key WHERE id = 1').get() as { fingerprint: string } | undefined;
  if (!row) {
    db.prepare('INSERT INTO recording_master_key (id, fingerprint, set_at) VALUES (1, ?, ?)').run(key.fingerprintHex, Date.now());
    return;
  }
  if (row.fingerprint !== key.fingerprintHex) {
    throw new Error(
      `wrong recording master key: the recordings in this data directory were encrypted with key ${row.fingerprint}, ` +
        `the configured one is ${key.fingerprintHex}. Set SIMSTUDIO_RECORDING_KEY to the original key, or restore keys/recording-master.key from the backup.`,
    );
  }
}

/** Records a new master key's fingerprint (after rotation rewrapped every file). */
export function rememberRecordingKey(db: Database, key: RecordingMasterKey): void {
  db.prepare('INSERT INTO recording_master_key (id, fingerprint, set_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, set_at = excluded.set_at').run(
    key.fingerprintHex,
    Date.now(),
  );
}
