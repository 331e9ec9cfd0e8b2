// Issue 15 item 9: what restore refuses, changing nothing — a backup with no manifest (one that
// did not finish), a damaged one (a byte changed, a file cut short or missing, a manifest that
// points outside the data directory), one whose schema is newer than this code — and that the
// running-studio lock dies with its process, even by SIGKILL. The real running studio is in
// backup.test.ts.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../server/backup/backup.ts';
import { ManifestSchema, type Manifest } from '../../server/backup/manifest.ts';
import { currentSchemaVersion, restoreBackup, RestoreRefused } from '../../server/backup/restore.ts';
import { studioRunning } from '../../server/backup/studio-lock.ts';
import { loadConfig } from '../../server/config.ts';
import { openData } from '../../server/studio.ts';
import { pollUntil } from '../helpers/browser.ts';
import { studioEnv } from '../helpers/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-backup-refusals-'));
const source = path.join(work, 'source');
const backupDir = path.join(work, 'backup');
/** The data directory restores go to: it holds other data, which a refusal must leave alone. */
const target = path.join(work, 'target');
const KEY = 'a recording key, as the crypt piece keeps it\n';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[path.relative(dir, path.join(entry.parentPath, entry.name))] = sha256(fs.readFileSync(path.join(entry.parentPath, entry.name)));
  }
  return out;
}

/** A copy of the good backup to spoil. */
function copyOfBackup(name: string): string {
  const dir = path.join(work, name);
  fs.cpSync(backupDir, dir, { recursive: true });
  return dir;
}

function readManifest(dir: string): Manifest {
  return ManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
}

function writeManifest(dir: string, manifest: Manifest): void {
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

let targetBefore: Record<string, string>;
beforeAll(async () => {
  const data = openData(loadConfig({ ...studioEnv(source)}));
  data.sessions.create({ title: 'Backed up', level: 'practitioner', participants: [{ role: 'candidate', displayName: 'Casey' }] });
  data.db.close();
  fs.mkdirSync(path.join(source, 'keys'), { mode: 0o700 });
  fs.writeFileSync(path.join(source, 'keys', 'recording.key'), KEY, { mode: 0o600 });
  await createBackup(source, backupDir, 'test');

  const other = openData(loadConfig({ ...studioEnv(target)}));
  other.sessions.create({ title: 'Already here', level: 'practitioner', participants: [{ role: 'candidate', displayName: 'Dana' }] });
  other.db.close();
  targetBefore = treeHashes(target);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function expectRefused(dir: string, message: RegExp): Promise<void> {
  const error = await restoreBackup(dir, target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestoreRefused);
  expect((error as Error).message).toMatch(message);
  // Nothing changed: the data directory as it was, no half-restored directory beside it.
  expect(treeHashes(target)).toEqual(targetBefore);
  expect(fs.readdirSync(work).filter((n) => n.includes('target'))).toEqual(['target']);
}

describe('restore refuses, changing nothing', () => {
  it('a backup without a manifest (it did not finish)', async () => {
    const dir = copyOfBackup('partial');
    fs.rmSync(path.join(dir, 'manifest.json'));
    await expectRefused(dir, /has no manifest\.json: not a backup, or one that did not finish/);
  });

  it('a backup with a byte changed, a file cut short, or a file missing', async () => {
    const flipped = copyOfBackup('flipped');
    const db = fs.readFileSync(path.join(flipped, 'simstudio.db'));
    db.writeUInt8(db.readUInt8(db.length - 100) ^ 0xff, db.length - 100);
    fs.writeFileSync(path.join(flipped, 'simstudio.db'), db);
    await expectRefused(flipped, /the backup is damaged: simstudio\.db does not match its SHA-256/);

    const cut = copyOfBackup('cut');
    fs.truncateSync(path.join(cut, 'keys', 'recording.key'), 5);
    await expectRefused(cut, new RegExp(`keys/recording\\.key has 5 bytes, not ${Buffer.byteLength(KEY)}`));

    const missing = copyOfBackup('missing');
    fs.rmSync(path.join(missing, 'secret.key'));
    await expectRefused(missing, /secret\.key is missing/);
  });

  it('a manifest that names a file outside the data directory', async () => {
    const dir = copyOfBackup('escape');
    const manifest = readManifest(dir);
    manifest.files.push({ path: '../outside', bytes: 0, sha256: sha256('') });
    writeManifest(dir, manifest);
    await expectRefused(dir, /manifest\.json is damaged/);
  });

  it('a backup whose database schema is newer than this code’s migrations', async () => {
    const dir = copyOfBackup('newer');
    const newer = currentSchemaVersion() + 1;
    const db = new DatabaseSync(path.join(dir, 'simstudio.db'));
    db.exec(`PRAGMA user_version = ${newer}`);
    db.close();
    // A whole, undamaged backup from a newer studio: hashes match what it holds.
    const manifest = readManifest(dir);
    const file = fs.readFileSync(path.join(dir, 'simstudio.db'));
    manifest.files = manifest.files.map((f) => (f.path === 'simstudio.db' ? { ...f, bytes: file.length, sha256: sha256(file) } : f));
    manifest.schemaVersion = newer;
    writeManifest(dir, manifest);
    await expectRefused(dir, new RegExp(`schema version ${newer}, newer than this SimStudio's ${newer - 1}`));
  });
});

it('restores a whole backup over other data, keeping that data beside it', async () => {
  const restored = await restoreBackup(copyOfBackup('good'), target);
  const db = new DatabaseSync(path.join(target, 'simstudio.db'), { readOnly: true });
  const titles = (db.prepare('SELECT title FROM sessions').all() as Array<{ title: string }>).map((r) => r.title);
  db.close();
  expect(titles).toEqual(['Backed up']);
  expect(fs.readFileSync(path.join(target, 'keys', 'recording.key'), 'utf8')).toBe(KEY);
  expect(fs.readFileSync(path.join(target, 'secret.key'))).toEqual(fs.readFileSync(path.join(source, 'secret.key')));
  expect(treeHashes(restored.previous!)).toEqual(targetBefore);
});

it('refuses to back up into a directory that holds something', async () => {
  await expect(createBackup(source, backupDir, 'test')).rejects.toThrow(/is not empty/);
});

it('the running-studio lock is released by the process dying, even by SIGKILL', async () => {
  const dir = path.join(work, 'locked');
  fs.mkdirSync(dir);
  const holder = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { holdStudioLock } from ${JSON.stringify(path.join(ROOT, 'server/backup/studio-lock.ts'))}; holdStudioLock(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await pollUntil('lock held by another process', 20_000, async () => out.includes('held'));
  expect(studioRunning(dir)).toBe(true);
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;
  expect(studioRunning(dir)).toBe(false);
});
