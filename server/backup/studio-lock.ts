// Whether a studio is running on a data directory, for `npm run restore` (which must never swap
// the data out from under a running studio). A running studio holds a shared SQLite lock on
// <dataDir>/studio.lock for its whole life. The lock is the operating system's (fcntl), so it is
// gone the moment the process ends, even by SIGKILL: no stale pid file to clear by hand, no pid
// reused by another program. Several studio instances may hold it at once (tests start them).
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateFile } from '../data-dir.ts';

export const LOCK_FILE = 'studio.lock';

export interface StudioLock {
  release(): void;
}

/** Held by a running studio until `release()` (or the process's end). */
export function holdStudioLock(dataDir: string): StudioLock {
  const file = path.join(dataDir, LOCK_FILE);
  ensurePrivateFile(file);
  const db = new DatabaseSync(file);
  db.exec('PRAGMA busy_timeout = 5000; CREATE TABLE IF NOT EXISTS held (since INTEGER)');
  // A read transaction keeps a SHARED lock on the file until it ends.
  db.exec('BEGIN');
  db.prepare('SELECT count(*) FROM held').get();
  return {
    release() {
      if (!db.isOpen) return;
      db.exec('COMMIT');
      db.close();
    },
  };
}

/** True while any process holds the lock of a studio running on `dataDir`. */
export function studioRunning(dataDir: string): boolean {
  const file = path.join(dataDir, LOCK_FILE);
  // No lock file: no studio has run here since this version (nor could one run without it).
  if (!fs.existsSync(file)) return false;
  const db = new DatabaseSync(file);
  try {
    // No waiting: an exclusive lock is refused at once while anyone holds the shared one.
    db.exec('PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (error) {
    if (/locked|busy/i.test((error as Error).message)) return true;
    throw error;
  } finally {
    db.close();
  }
}
