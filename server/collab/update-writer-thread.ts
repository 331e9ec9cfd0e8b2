// The collaboration log's writer thread (see update-writer.ts). It owns its own connection to
// the studio's database and does nothing but append batches of updates, each batch in one
// transaction: the commit's fsync blocks this thread, not the one serving every connection.
import { connectTo, type DatabaseLocation } from '../db/database.ts';
import { parentPort, workerData } from 'node:worker_threads';

export interface WriteRequest {
  id: number;
  /** Raised by the main thread each time it learns of a failed write (see rejectThrough). */
  epoch: number;
  entries: Array<{ doc: string; update: Uint8Array }>;
}

export type WriteReply = { id: number; ok: true } | { id: number; ok: false; message: string };

const { location } = workerData as { location: DatabaseLocation };
// The same durability as the studio's own connection (server/db/database.ts).
const db = connectTo(location);
const insert = db.prepare('INSERT INTO collab_updates (doc, update_data, at) VALUES (?, ?, ?)');

// Requests that arrived while a commit waited for the disk are stored together, in one
// transaction (group commit), as soon as it is done.
let queued: WriteRequest[] = [];
// A batch sent before the main thread heard of a failure may build on what failed (the same
// author's next edits): it is refused too, never stored without what it builds on.
let rejectThrough = -1;
parentPort!.on('message', (request: WriteRequest) => {
  if (queued.push(request) === 1) setImmediate(commitQueued);
});

function commitQueued(): void {
  const stale = queued.filter((r) => r.epoch <= rejectThrough);
  const requests = queued.filter((r) => r.epoch > rejectThrough);
  queued = [];
  for (const { id } of stale) parentPort!.postMessage({ id, ok: false, message: 'an earlier batch could not be stored' } satisfies WriteReply);
  if (requests.length === 0) return;
  let failure: string | null = null;
  try {
    // Appends only: no need to wait for other writers' transactions (PostgreSQL), and SQLite
    // takes its write lock at the first insert.
    db.exec('BEGIN');
    try {
      const at = Date.now();
      for (const { entries } of requests) for (const { doc, update } of entries) insert.run(doc, update, at);
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  } catch (err) {
    failure = (err as Error).message;
    rejectThrough = Math.max(...requests.map((r) => r.epoch));
  }
  for (const { id } of requests) parentPort!.postMessage(failure === null ? ({ id, ok: true } satisfies WriteReply) : ({ id, ok: false, message: failure } satisfies WriteReply));
}
