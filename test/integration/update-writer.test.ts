// The collaboration log's writer thread, on both engines: batches stored in order,
// group-committed, and a batch sent before the main thread heard of a failure is never stored
// without what it builds on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { UpdateWriter } from '../../server/collab/update-writer.ts';
import { databaseLocation, openDatabase } from '../../server/db/database.ts';
import { connectToStudioDatabase, holdWriteLock, testDatabaseUrl } from '../helpers/postgres.ts';

let writer: UpdateWriter | undefined;
let blocker: { release(): void } | undefined;
afterEach(async () => {
  blocker?.release();
  blocker = undefined;
  await writer?.close();
});

const stored = (dataDir: string): string[] => {
  const db = connectToStudioDatabase(dataDir, { readOnly: true });
  try {
    return (db.prepare('SELECT doc FROM collab_updates ORDER BY id').all() as Array<{ doc: string }>).map((r) => r.doc);
  } finally {
    db.close();
  }
};

/** A studio's database (SQLite in the folder, or its own PostgreSQL database in the postgres project). */
function studioDatabase(): { dataDir: string; location: ReturnType<typeof databaseLocation> } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-writer-'));
  const databaseUrl = testDatabaseUrl(dataDir);
  if (!databaseUrl) openDatabase(dataDir).close();
  return { dataDir, location: databaseLocation({ dataDir, databaseUrl }) };
}

it('stores batches in order; after a failed batch, one already on its way is refused, and the next after it is stored', { timeout: 30_000 }, async () => {
  const { dataDir, location } = studioDatabase();
  writer = new UpdateWriter(location);
  await writer.start();
  const update = new Uint8Array([0, 0]);

  await Promise.all([writer.write([{ doc: 'a', update }]), writer.write([{ doc: 'b', update }])]);
  expect(stored(dataDir)).toEqual(['a', 'b']);

  // Another connection holds the write lock: the next batch waits (5 s), then fails.
  blocker = holdWriteLock(dataDir);
  const failing = writer.write([{ doc: 'c', update }]).then(() => 'stored', (err: Error) => err.message);
  // Sent while that one waits (5 s), so before its failure is known: it may build on it.
  await new Promise((r) => setTimeout(r, 500));
  const onItsWay = writer.write([{ doc: 'd', update }]).then(() => 'stored', (err: Error) => err.message);
  expect(await failing).toMatch(/locked|busy|lock timeout/i);
  blocker.release();
  blocker = undefined;
  expect(await onItsWay).toBe('an earlier batch could not be stored');
  // Sent after the failure was known: stored.
  await writer.write([{ doc: 'e', update }]);
  expect(stored(dataDir)).toEqual(['a', 'b', 'e']);
});

it('stores a batch larger than one statement whole, bytes intact', { timeout: 30_000 }, async () => {
  const { dataDir, location } = studioDatabase();
  writer = new UpdateWriter(location);
  const rows = Array.from({ length: 1_234 }, (_, i) => ({ doc: `doc-${i}`, update: new Uint8Array([i % 256, 7, (i >> 8) % 256]) }));
  await writer.write(rows);
  const db = connectToStudioDatabase(dataDir, { readOnly: true });
  try {
    const back = db.prepare('SELECT doc, update_data FROM collab_updates ORDER BY id').all() as Array<{ doc: string; update_data: Uint8Array }>;
    expect(back.map((r) => r.doc)).toEqual(rows.map((r) => r.doc));
    expect(back.map((r) => [...r.update_data])).toEqual(rows.map((r) => [...r.update]));
  } finally {
    db.close();
  }
});
