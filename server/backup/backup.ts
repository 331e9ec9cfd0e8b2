// `npm run backup -- <dir>`: a consistent copy of a data directory, safe while the studio runs.
// The database goes through SQLite's online backup in one step (one read transaction over the
// WAL: every commit before it, none after, whichever connection or thread made them). The
// other files (recordings, keys, the signing secret) are copied after it and hashed as copied.
// Recordings are taken as the database copy knows them: a segment it does not know yet began
// after the copy and is left out; one still being written is copied as far as written, and a
// restored studio completes it as a crash would have cut it. The manifest is written last.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync, backup as sqliteBackup } from 'node:sqlite';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../data-dir.ts';
import { BACKUP_FORMAT, DATABASE_NAME, MANIFEST_FILE, type Manifest } from './manifest.ts';
import { LOCK_FILE, studioRunning } from './studio-lock.ts';

/** Never copied as files: the database goes through SQLite, the lock is the running studio's. */
const NOT_FILES = new Set([DATABASE_NAME, `${DATABASE_NAME}-wal`, `${DATABASE_NAME}-shm`, `${DATABASE_NAME}-journal`, LOCK_FILE, `${LOCK_FILE}-journal`]);
const RECORDINGS = 'recordings';
/** All pages in one step: the copy is one snapshot (a multi-step backup restarts on every write). */
const ALL_PAGES = 2 ** 31 - 1;

export interface BackupResult {
  dir: string;
  manifest: Manifest;
}

interface RecordingRow {
  id: string;
  file: string;
  status: string;
}

export async function createBackup(dataDir: string, target: string, studioVersion: string): Promise<BackupResult> {
  const source = path.resolve(dataDir);
  const dir = path.resolve(target);
  if (!fs.existsSync(path.join(source, DATABASE_NAME))) throw new Error(`no studio database in ${source}`);
  if (dir === source || dir.startsWith(source + path.sep)) throw new Error('the backup cannot go inside the data directory it copies');
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: back up into a new or empty directory`);
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  fs.chmodSync(dir, PRIVATE_DIR_MODE);

  const startedAt = new Date().toISOString();
  const studioWasRunning = studioRunning(source);
  // Read-write only so that SQLite may use the WAL index; nothing is written through it.
  const live = new DatabaseSync(path.join(source, DATABASE_NAME));
  try {
    live.exec('PRAGMA busy_timeout = 5000');
    const copyFile = path.join(dir, DATABASE_NAME);
    await sqliteBackup(live, copyFile, { rate: ALL_PAGES });
    fs.chmodSync(copyFile, PRIVATE_FILE_MODE);

    const copy = new DatabaseSync(copyFile);
    let copied: { files: Manifest['files']; inFlight: Manifest['inFlight']; leftOut: Manifest['leftOut'] };
    let schemaVersion: number;
    try {
      copied = await copyFiles(source, dir, live, copy);
      schemaVersion = (copy.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      // One self-contained file, no -wal beside it.
      copy.exec('PRAGMA journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const database = await hashFile(copyFile);
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      formatVersion: 1,
      studioVersion,
      schemaVersion,
      startedAt,
      finishedAt: new Date().toISOString(),
      studioWasRunning,
      files: [{ path: DATABASE_NAME, ...database }, ...copied.files],
      inFlight: copied.inFlight,
      leftOut: copied.leftOut,
    };
    await syncFile(copyFile);
    writeManifest(dir, manifest);
    return { dir, manifest };
  } finally {
    live.close();
  }
}

async function copyFiles(
  source: string,
  dir: string,
  live: DatabaseSync,
  copy: DatabaseSync,
): Promise<{ files: Manifest['files']; inFlight: Manifest['inFlight']; leftOut: Manifest['leftOut'] }> {
  const files: Manifest['files'] = [];
  const inFlight: Manifest['inFlight'] = [];
  const leftOut: Manifest['leftOut'] = [];
  const known = recordingsOf(copy);
  for (const relative of walk(source)) {
    if (NOT_FILES.has(relative)) continue;
    if (relative.startsWith(`${RECORDINGS}/`)) {
      const row = known.get(relative.slice(RECORDINGS.length + 1));
      if (!row) {
        leftOut.push({ path: relative, reason: 'not in the database copy (begun after it, or a working file)' });
        continue;
      }
      if (row.status === 'deleted') {
        leftOut.push({ path: relative, reason: 'deleted by retention' });
        continue;
      }
      if (row.status === 'recording') {
        const outcome = await copySegment(source, dir, relative, row, live, copy);
        if (!outcome) {
          leftOut.push({ path: relative, reason: 'removed while the backup ran' });
          continue;
        }
        files.push(outcome.file);
        if (outcome.inFlight) inFlight.push({ path: relative, recordingId: row.id });
        continue;
      }
    }
    const file = await copyInto(source, dir, relative);
    if (file) files.push(file);
    else leftOut.push({ path: relative, reason: 'removed while the backup ran' });
  }
  return { files, inFlight, leftOut };
}

/**
 * A segment the database copy has as being written. It may finish while it is copied: its live
 * row is read before and after the copy, and only a copy during which it did not change counts.
 * One that finished meanwhile is taken finished, its row in the copy brought up to date (the
 * file and the row then agree, as they do in the studio).
 */
async function copySegment(
  source: string,
  dir: string,
  relative: string,
  row: RecordingRow,
  live: DatabaseSync,
  copy: DatabaseSync,
): Promise<{ file: Manifest['files'][number]; inFlight: boolean } | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = liveRow(live, row.id);
    const file = await copyInto(source, dir, relative);
    const after = liveRow(live, row.id);
    if (!file || !before || !after) return undefined;
    if (before.status !== after.status) continue;
    if (after.status === 'recording') return { file, inFlight: true };
    const columns = Object.keys(after).filter((c) => c !== 'id');
    copy
      .prepare(`UPDATE recordings SET ${columns.map((c) => `"${c}" = ?`).join(', ')} WHERE id = ?`)
      .run(...columns.map((c) => after[c] as string | number | null), row.id);
    return { file, inFlight: false };
  }
  throw new Error(`recording ${row.id} kept changing while it was copied`);
}

function liveRow(live: DatabaseSync, id: string): Record<string, unknown> | undefined {
  return live.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as Record<string, unknown> | undefined;
}

/** Recording rows by their file, relative to the recordings folder (as the rows store it). */
function recordingsOf(db: DatabaseSync): Map<string, RecordingRow> {
  const rows = db.prepare('SELECT id, file, status FROM recordings').all() as unknown as RecordingRow[];
  return new Map(rows.map((r) => [r.file.split(path.sep).join('/'), r]));
}

/** Every regular file under `root`, as forward-slash paths relative to it, sorted. */
export function walk(root: string, prefix = ''): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(path.join(root, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...walk(root, relative));
    else if (entry.isFile()) out.push(relative);
  }
  return out;
}

/** Copies one file into the same place under `dir`, hashing what it copies; undefined when the
 *  file went away before it could be opened. */
async function copyInto(source: string, dir: string, relative: string): Promise<Manifest['files'][number] | undefined> {
  let input: fs.promises.FileHandle;
  try {
    input = await fs.promises.open(path.join(source, relative), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const destination = path.join(dir, relative);
  fs.mkdirSync(path.dirname(destination), { recursive: true, mode: PRIVATE_DIR_MODE });
  const output = await fs.promises.open(destination, 'wx', PRIVATE_FILE_MODE);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      await output.write(chunk);
      bytes += bytesRead;
    }
    await output.sync();
  } finally {
    await input.close();
    await output.close();
  }
  return { path: relative, bytes, sha256: hash.digest('hex') };
}

export async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Written to a temporary name, flushed, then renamed: a manifest is there whole or not at all. */
function writeManifest(dir: string, manifest: Manifest): void {
  const temporary = path.join(dir, `.${MANIFEST_FILE}.partial`);
  const fd = fs.openSync(temporary, 'w', PRIVATE_FILE_MODE);
  try {
    fs.writeSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, path.join(dir, MANIFEST_FILE));
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
