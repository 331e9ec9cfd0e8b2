// `npm run restore -- <dir> [--data-dir D]`: puts a backup back as the data directory. Every
// check comes before anything changes: no studio may be running on the data directory, the
// backup must be whole (manifest present, every file's size and SHA-256 as listed) and its
// schema no newer than this code's migrations. The files are copied into a new directory beside
// the data directory and checked again there, then the two are swapped by renaming; the data
// directory as it was is kept beside it, named in the result.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../data-dir.ts';
import { migrate } from '../db/database.ts';
import { hashFile } from './backup.ts';
import { DATABASE_NAME, MANIFEST_FILE, ManifestSchema, type Manifest } from './manifest.ts';
import { studioRunning } from './studio-lock.ts';

export class RestoreRefused extends Error {}

export interface RestoreResult {
  manifest: Manifest;
  dataDir: string;
  /** Where the data directory that was there before now is (undefined when there was none). */
  previous: string | undefined;
}

/** The schema version this code migrates a database to. */
export function currentSchemaVersion(): number {
  const db = new DatabaseSync(':memory:');
  try {
    migrate(db);
    return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  } finally {
    db.close();
  }
}

/** Reads and checks a backup (manifest, schema version, every file's hash) without changing anything. */
export async function verifyBackup(backupDir: string): Promise<Manifest> {
  const dir = path.resolve(backupDir);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(manifestFile)) throw new RestoreRefused(`${dir} has no ${MANIFEST_FILE}: not a backup, or one that did not finish`);
  let manifest: Manifest;
  try {
    manifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(manifestFile, 'utf8')));
  } catch (error) {
    throw new RestoreRefused(`${manifestFile} is damaged: ${(error as Error).message}`);
  }
  const supported = currentSchemaVersion();
  if (manifest.schemaVersion > supported) {
    throw new RestoreRefused(
      `the backup's database has schema version ${manifest.schemaVersion}, newer than this SimStudio's ${supported}: ` +
        `restore it with SimStudio ${manifest.studioVersion} or later`,
    );
  }
  if (!manifest.files.some((f) => f.path === DATABASE_NAME)) throw new RestoreRefused(`the manifest lists no ${DATABASE_NAME}`);
  const damaged = await mismatches(dir, manifest);
  if (damaged.length > 0) throw new RestoreRefused(`the backup is damaged: ${damaged.join('; ')}`);
  return manifest;
}

export async function restoreBackup(backupDir: string, dataDir: string): Promise<RestoreResult> {
  const target = path.resolve(dataDir);
  const refuseIfRunning = (): void => {
    if (fs.existsSync(target) && studioRunning(target)) throw new RestoreRefused(`a studio is running on ${target}: stop it first`);
  };
  refuseIfRunning();
  const manifest = await verifyBackup(backupDir);

  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const staging = path.join(parent, `.${path.basename(target)}.restoring-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(staging, { mode: PRIVATE_DIR_MODE });
  try {
    for (const file of manifest.files) {
      const destination = path.join(staging, file.path);
      fs.mkdirSync(path.dirname(destination), { recursive: true, mode: PRIVATE_DIR_MODE });
      fs.copyFileSync(path.join(path.resolve(backupDir), file.path), destination, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(destination, PRIVATE_FILE_MODE);
      syncPath(destination);
    }
    // What landed is what the manifest lists (a disk error while copying stops here).
    const damaged = await mismatches(staging, manifest);
    if (damaged.length > 0) throw new Error(`the restored copy does not match the backup: ${damaged.join('; ')}`);
    syncPath(staging);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }

  // Checked again just before the swap: a studio started while the files were copied wins.
  try {
    refuseIfRunning();
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  let previous: string | undefined;
  if (fs.existsSync(target)) {
    previous = path.join(parent, `${path.basename(target)}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    fs.renameSync(target, previous);
  }
  fs.renameSync(staging, target);
  syncPath(parent);
  return { manifest, dataDir: target, previous };
}

/** Files of the manifest missing from `dir` or not as listed, as messages. */
async function mismatches(dir: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  for (const file of manifest.files) {
    const full = path.join(dir, file.path);
    if (!fs.existsSync(full)) {
      problems.push(`${file.path} is missing`);
      continue;
    }
    const actual = await hashFile(full);
    if (actual.bytes !== file.bytes) problems.push(`${file.path} has ${actual.bytes} bytes, not ${file.bytes}`);
    else if (actual.sha256 !== file.sha256) problems.push(`${file.path} does not match its SHA-256`);
  }
  return problems;
}

function syncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
