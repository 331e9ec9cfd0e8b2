// The collaboration log's writer thread: batches stored in order, group-committed, and a batch
// sent before the main thread heard of a failure is never stored without what it builds on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, expect, it } from 'vitest';
import { UpdateWriter } from '../../server/collab/update-writer.ts';
import { databaseFile, openDatabase } from '../../server/db/database.ts';

let writer: UpdateWriter | undefined;
let blocker: DatabaseSync | undefined;
afterEach(async () => {
  if (blocker?.isTransaction) blocker.exec('ROLLBACK');
  blocker?.close();
  await writer?.close();
});

const stored = (file: string): string[] => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare('SELECT doc FROM collab_updates ORDER BY id').all() as Array<{ doc: string }>).map((r) => r.doc);
  } finally {
    db.close();
  }
};

it('stores batches in order; after a failed batch, one already on its way is refused, and the next after it is stored', { timeout: 30_000 }, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-writer-'));
  openDatabase(dataDir).close();
  const file = databaseFile(dataDir);
  writer = new UpdateWriter({ engine: 'sqlite', file });
  await writer.start();
  const update = new Uint8Array([0, 0]);

  await Promise.all([writer.write([{ doc: 'a', update }]), writer.write([{ doc: 'b', update }])]);
  expect(stored(file)).toEqual(['a', 'b']);

  // Another connection holds the write lock: the next batch waits (busy timeout, 5 s), then fails.
  blocker = new DatabaseSync(file);
  blocker.exec('BEGIN IMMEDIATE');
  const failing = writer.write([{ doc: 'c', update }]).then(() => 'stored', (err: Error) => err.message);
  // Sent while that one waits (5 s), so before its failure is known: it may build on it.
  await new Promise((r) => setTimeout(r, 500));
  const onItsWay = writer.write([{ doc: 'd', update }]).then(() => 'stored', (err: Error) => err.message);
  expect(await failing).toMatch(/locked|busy/i);
  blocker.exec('ROLLBACK');
  expect(await onItsWay).toBe('an earlier batch could not be stored');
  // Sent after the failure was known: stored.
  await writer.write([{ doc: 'e', update }]);
  expect(stored(file)).toEqual(['a', 'b', 'e']);
});
