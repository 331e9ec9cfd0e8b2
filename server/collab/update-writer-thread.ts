// The collaboration log's writer thread (see update-writer.ts). It owns its own connection to
// the studio's database and does nothing but append batches of updates, each batch at once:
// the commit's wait for the disk blocks this thread, not the one serving every connection.
import { parentPort, workerData } from 'node:worker_threads';
import { connectTo, transaction, type DatabaseLocation } from '../db/database.ts';
import type { Statement } from '../db/engine.ts';

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

/**
 * Rows per INSERT: one statement is one round trip to PostgreSQL and is stored whole or not
 * at all by itself; far below either engine's limit on parameters (SQLite 32,766, PostgreSQL
 * 65,535).
 */
const ROWS_PER_INSERT = 500;
const inserts = new Map<number, Statement>();

function insertRows(rows: Array<{ doc: string; update: Uint8Array }>, at: number): void {
  let insert = inserts.get(rows.length);
  if (!insert) {
    insert = db.prepare(`INSERT INTO collab_updates (doc, update_data, at) VALUES ${rows.map(() => '(?, ?, ?)').join(', ')}`);
    inserts.set(rows.length, insert);
  }
  insert.run(...rows.flatMap(({ doc, update }) => [doc, update, at]));
}

/** Stores every row, or none. */
function append(rows: Array<{ doc: string; update: Uint8Array }>): void {
  const at = Date.now();
  if (rows.length <= ROWS_PER_INSERT) return insertRows(rows, at);
  transaction(db, () => {
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) insertRows(rows.slice(i, i + ROWS_PER_INSERT), at);
  });
}

// Requests that arrived while a commit waited for the disk are stored together (group commit),
// as soon as it is done.
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
    const rows = requests.flatMap((r) => r.entries);
    if (rows.length > 0) append(rows);
  } catch (err) {
    failure = (err as Error).message;
    rejectThrough = Math.max(...requests.map((r) => r.epoch));
  }
  for (const { id } of requests) parentPort!.postMessage(failure === null ? ({ id, ok: true } satisfies WriteReply) : ({ id, ok: false, message: failure } satisfies WriteReply));
}
