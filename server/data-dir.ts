// The data directory holds the database, the signing secret and the recordings: nobody but
// the studio's own user may read them (issue 11, row 14). New directories are created 0700 and
// files 0600, and modes loosened by an older version or by hand are tightened on every start.
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) as 0700, and makes an existing one 0700. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE);
}

/** Makes an existing file 0600; creates it empty, as 0600, when missing (before anyone else
 *  creates it with the umask's looser mode). */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  tighten(file, PRIVATE_FILE_MODE);
}

/** Tightens an existing file if present (e.g. SQLite's -wal and -shm files). */
export function tightenIfPresent(file: string): void {
  try {
    tighten(file, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** A directory tree made private: directories 0700, files 0600 (one level of subfolders, as
 *  the recordings folder has: recordings/<session>/<segment>). */
export function tightenTree(dir: string): void {
  ensurePrivateDir(dir);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      tighten(full, PRIVATE_DIR_MODE);
      for (const inner of fs.readdirSync(full, { withFileTypes: true })) {
        if (inner.isFile()) tighten(path.join(full, inner.name), PRIVATE_FILE_MODE);
        else if (inner.isDirectory()) tighten(path.join(full, inner.name), PRIVATE_DIR_MODE);
      }
    } else if (entry.isFile()) tighten(full, PRIVATE_FILE_MODE);
  }
}

function tighten(target: string, mode: number): void {
  if ((fs.statSync(target).mode & 0o777) !== mode) fs.chmodSync(target, mode);
}
