// Durable storage of collaborative documents: every accepted update is appended (and, with
// PRAGMA synchronous = FULL, on disk) before its author is told it is saved; a document loads from
// its snapshot plus the updates after it, and is compacted into a new snapshot now and then.
// It also knows how many bytes each document holds in storage, without reading it, so that a
// size cap costs what the update costs (issue 11, row 7).
import * as Y from 'yjs';
import { transaction, type Database } from '../db/database.ts';

/** What a live copy of a document holds of the store: the snapshot it started from (its last
 *  logged update's id; 0 for none) and how many updates were logged after it, all applied. */
export interface HeldLog {
  snapshotUpto: number;
  rows: number;
}

export class DocStore {
  private readonly db: Database;
  /** Stored bytes (snapshot + logged updates) of the documents whose size was asked for. */
  private readonly sizes = new Map<string, number>();

  constructor(db: Database) {
    this.db = db;
  }

  /** Rebuilds a document from its snapshot and every update logged after it. */
  load(doc: string): { ydoc: Y.Doc; pendingUpdates: number; snapshotUpto: number } {
    const snapshot = this.db.prepare('SELECT state, upto_id FROM collab_snapshots WHERE doc = ?').get(doc) as
      | { state: Uint8Array; upto_id: number }
      | undefined;
    const updates = this.db
      .prepare('SELECT update_data FROM collab_updates WHERE doc = ? AND id > ? ORDER BY id')
      .all(doc, snapshot?.upto_id ?? 0) as Array<{ update_data: Uint8Array }>;
    return { ydoc: rebuild(snapshot?.state, updates.map((u) => u.update_data)), pendingUpdates: updates.length, snapshotUpto: Number(snapshot?.upto_id ?? 0) };
  }

  /**
   * Every stored document whose name starts with `prefix` (e.g. all of a session's scoring
   * sheets), in two queries rather than two per document. Documents with nothing stored are
   * absent.
   */
  loadUnder(prefix: string): Map<string, Y.Doc> {
    // Names are ASCII: every one that starts with the prefix sorts between these two.
    const range = [prefix, `${prefix}\uffff`];
    const snapshots = this.db.prepare('SELECT doc, state, upto_id FROM collab_snapshots WHERE doc >= ? AND doc < ?').all(...range) as Array<{
      doc: string;
      state: Uint8Array;
      upto_id: number;
    }>;
    const snapshotOf = new Map(snapshots.map((s) => [s.doc, s]));
    const updates = new Map<string, Uint8Array[]>();
    const rows = this.db.prepare('SELECT doc, id, update_data FROM collab_updates WHERE doc >= ? AND doc < ? ORDER BY doc, id').all(...range) as Array<{
      doc: string;
      id: number;
      update_data: Uint8Array;
    }>;
    for (const row of rows) {
      if (row.id <= (snapshotOf.get(row.doc)?.upto_id ?? 0)) continue;
      const list = updates.get(row.doc) ?? [];
      list.push(row.update_data);
      updates.set(row.doc, list);
    }
    const docs = new Map<string, Y.Doc>();
    for (const name of new Set([...snapshotOf.keys(), ...updates.keys()])) {
      docs.set(name, rebuild(snapshotOf.get(name)?.state, updates.get(name) ?? []));
    }
    return docs;
  }

  append(doc: string, update: Uint8Array): void {
    this.db.prepare('INSERT INTO collab_updates (doc, update_data, at) VALUES (?, ?, ?)').run(doc, update, Date.now());
    this.noteStored([{ doc, update }]);
  }

  /**
   * Appends several updates (of any documents) in one transaction: one fsync for all of them
   * (group commit). All are stored, or none.
   */
  appendMany(entries: ReadonlyArray<{ doc: string; update: Uint8Array }>): void {
    if (entries.length === 0) return;
    transaction(this.db, () => {
      const insert = this.db.prepare('INSERT INTO collab_updates (doc, update_data, at) VALUES (?, ?, ?)');
      const at = Date.now();
      for (const { doc, update } of entries) insert.run(doc, update, at);
    });
    this.noteStored(entries);
  }

  /** Updates appended by another connection (the writer thread): their bytes count too. */
  noteStored(entries: ReadonlyArray<{ doc: string; update: Uint8Array }>): void {
    for (const { doc, update } of entries) {
      const size = this.sizes.get(doc);
      if (size !== undefined) this.sizes.set(doc, size + update.byteLength);
    }
  }

  /**
   * Replaces the log up to now with one snapshot of `ydoc` merged with what is stored, and says
   * up to which logged update the snapshot holds (null: nothing was logged). Another studio
   * process sharing the database may have logged (or compacted) updates of the same document
   * that `ydoc` has never seen: they go into the snapshot, never out of the store. `held`, what
   * `ydoc` is known to hold (the snapshot it started from and the rows logged after it), lets
   * the common case (no other writer) skip the merge.
   */
  compact(doc: string, ydoc: Y.Doc, held?: HeldLog): number | null {
    const compacted = transaction(this.db, (): { bytes: number; upto: number } | null => {
      const stored = this.db.prepare('SELECT state, upto_id FROM collab_snapshots WHERE doc = ?').get(doc) as
        | { state: Uint8Array; upto_id: number }
        | undefined;
      if (held && Number(stored?.upto_id ?? 0) === held.snapshotUpto) {
        const logged = this.db.prepare('SELECT COUNT(*) AS n, MAX(id) AS upto FROM collab_updates WHERE doc = ? AND id > ?').get(doc, held.snapshotUpto) as {
          n: number;
          upto: number | null;
        };
        if (logged.upto === null) return null;
        if (Number(logged.n) === held.rows) {
          const state = Y.encodeStateAsUpdate(ydoc);
          this.writeSnapshot(doc, state, Number(logged.upto));
          return { bytes: state.byteLength, upto: Number(logged.upto) };
        }
      }
      const log = this.db
        .prepare('SELECT id, update_data FROM collab_updates WHERE doc = ? AND id > ? ORDER BY id')
        .all(doc, stored?.upto_id ?? 0) as Array<{ id: number; update_data: Uint8Array }>;
      if (log.length === 0) return null;
      // Applying what `ydoc` already holds changes nothing, so this is `ydoc` plus what it lacks.
      const merged = rebuild(stored?.state, log.map((row) => row.update_data));
      Y.applyUpdate(merged, Y.encodeStateAsUpdate(ydoc));
      const state = Y.encodeStateAsUpdate(merged);
      merged.destroy();
      const upto = Number(log.at(-1)!.id);
      this.writeSnapshot(doc, state, upto);
      return { bytes: state.byteLength, upto };
    });
    // Only once committed: a rolled-back compaction leaves the stored size as it was.
    if (compacted !== null && this.sizes.has(doc)) this.sizes.set(doc, compacted.bytes);
    return compacted?.upto ?? null;
  }

  /**
   * Stores `ydoc` as the document's whole content: one snapshot, and no logged update before it
   * (erasure: what the log held must not survive). Updates logged later still apply after it.
   */
  replace(doc: string, ydoc: Y.Doc): void {
    const state = Y.encodeStateAsUpdate(ydoc);
    transaction(this.db, () => {
      const { upto } = this.db
        .prepare('SELECT MAX(upto) AS upto FROM (SELECT MAX(id) AS upto FROM collab_updates WHERE doc = ?1 UNION ALL SELECT upto_id FROM collab_snapshots WHERE doc = ?1) AS known')
        .get(doc) as { upto: number | null };
      this.writeSnapshot(doc, state, upto ?? 0);
    });
    this.sizes.delete(doc);
  }

  /** The snapshot holds everything up to `upto`: stored, and the log up to there removed. */
  private writeSnapshot(doc: string, state: Uint8Array, upto: number): void {
    this.db
      .prepare(
        `INSERT INTO collab_snapshots (doc, state, upto_id, at) VALUES (?, ?, ?, ?)
         ON CONFLICT(doc) DO UPDATE SET state = excluded.state, upto_id = excluded.upto_id, at = excluded.at`,
      )
      .run(doc, state, upto, Date.now());
    this.db.prepare('DELETE FROM collab_updates WHERE doc = ? AND id <= ?').run(doc, upto);
  }

  /**
   * Bytes the document holds in storage: its snapshot plus every update logged after it.
   * Read from the database once, then kept by `append` and `compact` (this store is the only
   * writer of a live document), so asking again costs nothing.
   */
  storedBytes(doc: string): number {
    const known = this.sizes.get(doc);
    if (known !== undefined) return known;
    const { bytes } = this.db
      .prepare(
        `SELECT COALESCE((SELECT LENGTH(state) FROM collab_snapshots WHERE doc = ?1), 0)
              + COALESCE((SELECT SUM(LENGTH(update_data)) FROM collab_updates
                          WHERE doc = ?1 AND id > COALESCE((SELECT upto_id FROM collab_snapshots WHERE doc = ?1), 0)), 0) AS bytes`,
      )
      .get(doc) as { bytes: number };
    this.sizes.set(doc, bytes);
    return bytes;
  }

  updateCount(doc: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM collab_updates WHERE doc = ?').get(doc) as { n: number }).n;
  }
}

/** A document from its snapshot (if any) and the updates logged after it, in order. */
function rebuild(snapshot: Uint8Array | undefined, updates: Uint8Array[]): Y.Doc {
  const ydoc = new Y.Doc();
  if (snapshot) Y.applyUpdate(ydoc, snapshot);
  if (updates.length > 0) Y.applyUpdate(ydoc, Y.mergeUpdates(updates));
  return ydoc;
}
