// Appends accepted collaboration updates to the database on a thread of its own. A commit
// waits for its fsync (PRAGMA synchronous = FULL: an accepted edit survives a power cut); on
// the main thread that wait (about 1.5 ms here) stopped every connection, and at 600 edits a
// second it took a third of the process's time. The writer thread waits instead, while the
// main thread goes on checking and applying the next updates, which form the next batch.
import { Worker } from 'node:worker_threads';
import type { DatabaseLocation } from '../db/database.ts';
import type { WriteReply, WriteRequest } from './update-writer-thread.ts';

export interface StoredUpdate {
  doc: string;
  update: Uint8Array;
}

export class UpdateWriter {
  private readonly location: DatabaseLocation;
  private worker: Worker | null = null;
  private nextId = 1;
  /** Failures the caller has been told of (the thread refuses batches sent before it knew). */
  private epoch = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void; written: Promise<void> }>();
  private closed = false;

  /** `location`: the studio's database (its schema already migrated). */
  constructor(location: DatabaseLocation) {
    this.location = location;
  }

  /** Starts the thread and waits until it can write (starting it costs ~200 ms: not on an edit's path). */
  async start(): Promise<void> {
    await this.write([]);
  }

  /** Stores every entry in one transaction; resolves once committed, rejects if none was. */
  write(entries: StoredUpdate[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the update writer is closed'));
    const id = this.nextId++;
    const request: WriteRequest = { id, epoch: this.epoch, entries };
    let settle!: { resolve: () => void; reject: (err: Error) => void };
    const written = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.waiting.set(id, { ...settle, written });
    this.thread().postMessage(request);
    return written;
  }

  /** Waits for the writes in flight, then ends the thread. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.waiting.values()].map((w) => w.written));
    await this.worker?.terminate();
    this.worker = null;
  }

  private settle(id: number, failure: Error | null): void {
    const entry = this.waiting.get(id);
    if (!entry) return;
    this.waiting.delete(id);
    if (failure) {
      this.epoch++;
      entry.reject(failure);
    } else entry.resolve();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./update-writer-thread.ts', import.meta.url), { workerData: { location: this.location } });
    // The server's own handles keep the process alive; this thread never should on its own.
    worker.unref();
    worker.on('message', (reply: WriteReply) => this.settle(reply.id, reply.ok ? null : new Error(reply.message)));
    const lost = (reason: string): void => {
      if (this.worker === worker) this.worker = null;
      // What was in flight may or may not be stored: its callers treat it as not stored (the
      // documents are reloaded from the log, and clients send again what it lacks).
      for (const id of [...this.waiting.keys()]) this.settle(id, new Error(reason));
    };
    worker.on('error', (err) => lost(`the update writer failed: ${err.message}`));
    worker.on('exit', (code) => lost(`the update writer stopped (${code})`));
    this.worker = worker;
    return worker;
  }
}
