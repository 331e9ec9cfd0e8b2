// The studio's database on PostgreSQL, with the same synchronous interface as node:sqlite
// (../engine.ts): each statement is handed to the connection's thread (pg-thread.ts) and the
// caller waits for its answer (Atomics.wait). A round trip on the same host costs tenths of a
// millisecond; the studio's hot paths keep what they read in memory.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Database, Row, RunResult, SqlValue, Statement } from '../engine.ts';
import type { PgCall, PgReply, PgRequest, PgThreadData } from './pg-thread.ts';
import { toPostgres } from './sql.ts';

/** How long a caller waits for one statement before giving up on the connection. */
const ANSWER_TIMEOUT_MS = 60_000;
/**
 * Write transactions take this advisory lock first: they run one at a time, as SQLite's
 * BEGIN IMMEDIATE makes them, across every studio node sharing the database (read-then-write
 * sequences such as the audit chain's head rely on it).
 */
const WRITE_LOCK_KEY = 0x51_6d_53_74; // "SmSt"

export class PostgresError extends Error {
  readonly code = 'ERR_POSTGRES';
  readonly sqlstate: string | null;
  readonly errstr: string;
  /** The statement that failed (for the log; never for a client). */
  readonly statement: string | undefined;
  constructor(message: string, sqlstate: string | null, statement?: string) {
    super(message);
    this.sqlstate = sqlstate;
    this.errstr = message;
    this.statement = statement;
  }
}

export class PostgresDatabase implements Database {
  readonly engine = 'postgres' as const;
  private readonly url: string;
  private readonly readOnly: boolean;
  private worker!: Worker;
  private port!: MessagePort;
  private readonly ready = new Int32Array(new SharedArrayBuffer(4));
  private readonly statements = new Map<string, Statement>();
  private nextId = 1;
  private open = true;
  private transactionOpen = false;

  constructor(url: string, options: { readOnly?: boolean } = {}) {
    this.url = url;
    this.readOnly = options.readOnly ?? false;
    this.startThread();
  }

  /** The connection's thread (again, if the one before ended: its transaction ended with it). */
  private startThread(): void {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: PgThreadData = { url: this.url, readOnly: this.readOnly, port: port2, signal: this.ready.buffer as SharedArrayBuffer };
    this.worker = new Worker(new URL('./pg-thread.ts', import.meta.url), { workerData: data, transferList: [port2] });
    this.worker.unref();
    this.port.unref();
    this.transactionOpen = false;
  }

  get isTransaction(): boolean {
    return this.transactionOpen;
  }

  get isOpen(): boolean {
    return this.open;
  }

  prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement) return statement;
    const text = toPostgres(sql);
    const query = (params: SqlValue[]): { rows: Row[]; changes: number } => this.call({ kind: 'query', sql: text, params });
    statement = {
      run: (...params: SqlValue[]): RunResult => ({ changes: query(params).changes, lastInsertRowid: 0 }),
      get: (...params: SqlValue[]): Row | undefined => query(params).rows[0],
      all: (...params: SqlValue[]): Row[] => query(params).rows,
    };
    // SQL built from data (e.g. IN lists) must not grow the cache without end.
    if (this.statements.size >= 500) this.statements.clear();
    this.statements.set(sql, statement);
    return statement;
  }

  exec(sql: string): void {
    // SQLite's BEGIN IMMEDIATE (and EXCLUSIVE) takes the write lock at once; a plain BEGIN
    // (deferred) does not, and needs none here: PostgreSQL's own locks order its writes.
    const writes = /^\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\s*;?\s*$/i.test(sql);
    try {
      this.call({ kind: 'exec', sql: writes ? `BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})` : sql });
    } catch (error) {
      // A BEGIN whose lock was not granted leaves no transaction behind.
      if (writes && this.transactionOpen) this.call({ kind: 'exec', sql: 'ROLLBACK' });
      throw error;
    }
  }

  close(): void {
    if (!this.open) return;
    try {
      this.call({ kind: 'close' });
    } finally {
      this.open = false;
      void this.worker.terminate();
    }
  }

  private call(request: PgCall): { rows: Row[]; changes: number } {
    if (!this.open) throw new PostgresError('the database connection is closed', null);
    // An ended thread's threadId is -1 (its 'exit' event cannot arrive while callers wait here).
    if (this.worker.threadId < 0) this.startThread();
    const id = this.nextId++;
    Atomics.store(this.ready, 0, 0);
    this.port.postMessage({ ...request, id } satisfies PgRequest);
    for (;;) {
      if (Atomics.wait(this.ready, 0, 0, ANSWER_TIMEOUT_MS) === 'timed-out') {
        throw new PostgresError(`PostgreSQL did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`, null);
      }
      // Answers to requests that timed out earlier are dropped.
      let reply: PgReply | undefined;
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        if ((m.message as PgReply).id === id) reply = m.message as PgReply;
      }
      if (!reply) {
        Atomics.store(this.ready, 0, 0);
        continue;
      }
      this.transactionOpen = reply.transaction;
      if (!reply.ok) {
        throw new PostgresError(reply.message, reply.sqlstate, request.kind === 'close' ? undefined : request.sql);
      }
      return reply;
    }
  }
}
