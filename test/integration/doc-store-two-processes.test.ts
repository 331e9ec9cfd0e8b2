// Two studio processes on one database, each with its own live copy of one collaborative
// document (two nodes, observers connected to either): when one compacts the document's log
// into a snapshot, the updates the other stored (which its copy never saw) stay in the store,
// whether they are still in the log or already in the other's snapshot.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocStore } from '../../server/collab/doc-store.ts';
import { loadConfig } from '../../server/config.ts';
import { openData } from '../../server/studio.ts';
import { studioEnv } from '../helpers/postgres.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-two-stores-'));
const config = loadConfig({ ...studioEnv(dataDir) });
// Two connections to one database: one per studio process.
const one = openData(config);
const two = openData(config);
afterAll(() => {
  one.db.close();
  two.db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/**
 * A process's live copy of a document, every local edit of it stored and compacted as the
 * collab server does (with what the copy holds of the log, which lets a compaction skip the
 * merge when no other process wrote).
 */
function liveCopy(store: DocStore, doc: string): { ydoc: Y.Doc; set: (key: string, value: string) => void; compact: () => void } {
  const { ydoc, pendingUpdates, snapshotUpto } = store.load(doc);
  const held = { snapshotUpto, rows: pendingUpdates };
  ydoc.on('update', (update: Uint8Array) => {
    store.append(doc, update);
    held.rows++;
  });
  return {
    ydoc,
    set: (key, value) => ydoc.getMap('ratings').set(key, value),
    compact: () => {
      const upto = store.compact(doc, ydoc, held);
      if (upto !== null) held.snapshotUpto = upto;
      held.rows = 0;
    },
  };
}

const storedRatings = (store: DocStore, doc: string) => store.load(doc).ydoc.getMap('ratings').toJSON();

it('keeps the other process’s updates through a compaction, logged or snapshotted', () => {
  const storeOne = new DocStore(one.db);
  const storeTwo = new DocStore(two.db);

  // Both load the empty document; each writes what the other's copy never sees.
  const doc = 'test/two-stores/log';
  const a = liveCopy(storeOne, doc);
  const b = liveCopy(storeTwo, doc);
  a.set('from-one', 'meets');
  b.set('from-two', 'exceeds');
  expect(b.ydoc.getMap('ratings').has('from-one')).toBe(false);
  b.compact();
  expect(storedRatings(storeOne, doc)).toEqual({ 'from-one': 'meets', 'from-two': 'exceeds' });
  expect(storeOne.updateCount(doc)).toBe(0); // compacted: all of it in the snapshot

  // One compacts what it has into a snapshot; the other, still without it, writes and compacts.
  const other = 'test/two-stores/snapshot';
  const c = liveCopy(storeOne, other);
  const d = liveCopy(storeTwo, other);
  c.set('first', 'borderline');
  c.compact();
  d.set('second', 'meets');
  d.compact();
  expect(storedRatings(storeTwo, other)).toEqual({ first: 'borderline', second: 'meets' });

  // One process alone: the copy holds the whole log, so its snapshot is the copy (no merge) and
  // holds everything; compacted again after more edits, still everything.
  const alone = 'test/two-stores/alone';
  const e = liveCopy(storeOne, alone);
  e.set('one', 'meets');
  e.set('two', 'exceeds');
  e.compact();
  e.set('three', 'borderline');
  e.compact();
  expect(storedRatings(storeTwo, alone)).toEqual({ one: 'meets', two: 'exceeds', three: 'borderline' });
  expect(storeTwo.updateCount(alone)).toBe(0);
});
