// The PostgreSQL connection behind postgres-database.ts: a thread of its own runs the `pg`
// driver (asynchronous, like every PostgreSQL driver for Node) while the caller waits for the
// answer, so the studio's repositories stay synchronous on both engines.
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import type { Row, SqlValue } from '../engine.ts';

export type PgCall = { kind: 'query'; sql: string; params: SqlValue[] } | { kind: 'exec'; sql: string } | { kind: 'close' };
export type PgRequest = PgCall & { id: number };

/** `transaction`: whether the connection is inside a transaction once the request is done. */
export type PgReply =
  | { id: number; ok: true; rows: Row[]; changes: number; transaction: boolean }
  | { id: number; ok: false; message: string; sqlstate: string | null; detail: string | null; transaction: boolean };

export interface PgThreadData {
  url: string;
  /** Every transaction read-only (the analytics thread's connection). */
  readOnly: boolean;
  port: MessagePort;
  /** [0]: set to 1 (and notified) once a reply has been posted. */
  signal: SharedArrayBuffer;
}

const { url, readOnly, port, signal } = workerData as PgThreadData;
const ready = new Int32Array(signal);

// Integers, sums and averages come back as numbers (as from SQLite), byte strings as exact
// copies (a Buffer from Node's pool would carry the whole pool across the thread boundary),
// booleans as 1 and 0.
const INT8 = 20;
const NUMERIC = 1700;
const BYTEA = 17;
const BOOL = 16;
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8 || oid === NUMERIC) return (text: string) => Number(text);
    if (oid === BOOL) return (text: string) => (text === 't' ? 1 : 0);
    if (oid === BYTEA) {
      const parse = pg.types.getTypeParser(BYTEA, 'text') as (text: string) => Buffer;
      return (text: string) => new Uint8Array(parse(text));
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

let client: pg.Client | null = null;
const named = new Map<string, string>();

async function connection(): Promise<pg.Client> {
  if (client) return client;
  const fresh = new pg.Client({ connectionString: url, types });
  // A lost connection fails the request in flight; the next request connects again.
  fresh.on('error', () => {
    if (client === fresh) client = null;
  });
  await fresh.connect();
  // As SQLite's busy_timeout: a statement waits at most 5 s for another's lock, then fails.
  await fresh.query("SET lock_timeout = '5s'");
  if (readOnly) await fresh.query('SET default_transaction_read_only = on');
  named.clear();
  client = fresh;
  return fresh;
}

/** The server's own word (ReadyForQuery): idle, in a transaction, or in a failed one. */
function inTransaction(c: pg.Client | null): boolean {
  const status = (c as unknown as { getTransactionStatus(): string | null } | null)?.getTransactionStatus();
  return status === 'T' || status === 'E';
}

async function query(sql: string, params: SqlValue[]): Promise<{ rows: Row[]; changes: number }> {
  const c = await connection();
  // Prepared once per connection; statements built from data (IN lists of any length) beyond
  // the first thousand texts are parsed each time instead of piling up in the server.
  let name = named.get(sql);
  if (!name && named.size < 1000) {
    name = `s${named.size + 1}`;
    named.set(sql, name);
  }
  const values = params.map((v) => (typeof v === 'bigint' ? v.toString() : v));
  // Inside a transaction a failed statement undoes itself only, as in SQLite; PostgreSQL would
  // otherwise abort the whole transaction.
  const guarded = inTransaction(c);
  if (guarded) await c.query('SAVEPOINT statement');
  try {
    const result = await c.query(name ? { name, text: sql, values } : { text: sql, values });
    if (guarded) await c.query('RELEASE SAVEPOINT statement');
    return { rows: result.rows as Row[], changes: result.rowCount ?? 0 };
  } catch (error) {
    if (guarded && client === c) await c.query('ROLLBACK TO SAVEPOINT statement; RELEASE SAVEPOINT statement');
    throw error;
  }
}

async function exec(sql: string): Promise<void> {
  await (await connection()).query(sql);
}

async function answer(request: PgRequest): Promise<PgReply> {
  try {
    if (request.kind === 'query') {
      const result = await query(request.sql, request.params);
      return { id: request.id, ok: true, ...result, transaction: inTransaction(client) };
    }
    if (request.kind === 'exec') await exec(request.sql);
    else {
      await client?.end();
      client = null;
    }
    return { id: request.id, ok: true, rows: [], changes: 0, transaction: inTransaction(client) };
  } catch (error) {
    const e = error as { message?: string; code?: string; detail?: string };
    return { id: request.id, ok: false, message: e.message ?? String(error), sqlstate: e.code ?? null, detail: e.detail ?? null, transaction: inTransaction(client) };
  }
}

// One request at a time, in order (the caller waits for each answer anyway).
let previous: Promise<void> = Promise.resolve();
port.on('message', (request: PgRequest) => {
  previous = previous.then(async () => {
    port.postMessage(await answer(request));
    Atomics.store(ready, 0, 1);
    Atomics.notify(ready, 0);
  });
});
