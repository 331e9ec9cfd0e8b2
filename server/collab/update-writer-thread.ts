// The collaboration log's writer thread (see update-writer.ts). It owns its own connection to
// the studio's database and does nothing but append batches of updates, each batch in one
// transaction: the commit's fsync blocks this thread, not the one serving every connection.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface WriteRequest {
  id: number;
  entries: Array<{ doc: string; update: Uint8Array }>;
}

export type WriteReply = { id: number; ok: true } | { id: number; ok: false; message: string };

const { file } = workerData as { file: string };
const db = new DatabaseSync(file);
// The same durability as the studio's own connection (server/db/database.ts).
db.exec('PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
const insert = db.prepare('INSERT INTO collab_updates (doc, update_data, at) VALUES (?, ?, ?)');

parentPort!.on('message', ({ id, entries }: WriteRequest) => {
  let reply: WriteReply;
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const at = Date.now();
      for (const { doc, update } of entries) insert.run(doc, update, at);
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
    reply = { id, ok: true };
  } catch (err) {
    reply = { id, ok: false, message: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
