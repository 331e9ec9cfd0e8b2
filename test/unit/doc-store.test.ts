// DocStore.loadUnder: all of a session's sheets in two queries, each exactly as load() gives it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import { sheetDocName, sheetsPrefix } from '../../shared/collab.ts';
import { DocStore } from '../../server/collab/doc-store.ts';
import { openDatabase, type Database } from '../../server/db/database.ts';

let db: Database | undefined;
afterEach(() => db?.close());

function rated(clientID: number, entries: Record<string, number>): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  for (const [key, value] of Object.entries(entries)) doc.getMap('ratings').set(key, value);
  return doc;
}

it('loads every stored sheet under a prefix as load() does: snapshot plus later updates, and nothing of another session', () => {
  db = openDatabase(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-docstore-')));
  const store = new DocStore(db);
  const compacted = sheetDocName('s1', 'ana', 1);
  const logged = sheetDocName('s1', 'ben', 2);
  const otherSession = sheetDocName('s10', 'ana', 1);

  const ana = rated(1, { a: 1 });
  store.append(compacted, Y.encodeStateAsUpdate(ana));
  store.compact(compacted, ana);
  const before = Y.encodeStateVector(ana);
  ana.getMap('ratings').set('b', 2);
  store.append(compacted, Y.encodeStateAsUpdate(ana, before));
  store.append(logged, Y.encodeStateAsUpdate(rated(2, { c: 3 })));
  store.append(otherSession, Y.encodeStateAsUpdate(rated(3, { d: 4 })));

  const docs = store.loadUnder(sheetsPrefix('s1'));
  expect([...docs.keys()].sort()).toEqual([compacted, logged].sort());
  expect(docs.get(compacted)!.getMap('ratings').toJSON()).toEqual({ a: 1, b: 2 });
  expect(docs.get(logged)!.getMap('ratings').toJSON()).toEqual({ c: 3 });
  for (const name of [compacted, logged]) {
    expect(Y.encodeStateAsUpdate(docs.get(name)!)).toEqual(Y.encodeStateAsUpdate(store.load(name).ydoc));
  }
});
