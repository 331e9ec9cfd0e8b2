// The studio's cohort analytics, computed off the main thread (analytics-thread.ts). Requests
// queue on one thread; a thread that fails is replaced at the next request, and what was in
// flight is refused with the reason.
import { Worker } from 'node:worker_threads';
import type { CohortAnalytics, OwnStringency } from '../../shared/analytics.ts';
import type { EqualitiesReport } from '../../shared/equalities.ts';
import type { DatabaseLocation } from '../db/database.ts';
import type { AnalyticsReply, AnalyticsRequest } from './analytics-thread.ts';
import type { CohortRange } from './cohort-data.ts';
import { ProtocolFailure } from '../../shared/errors.ts';

/** Requests waiting for (or on) the thread at once. */
export const MAX_QUEUED = 4;

type Result = CohortAnalytics | OwnStringency | EqualitiesReport;
type Pending = { resolve: (result: Result) => void; reject: (error: Error) => void };
type Request = AnalyticsRequest extends infer R ? (R extends AnalyticsRequest ? Omit<R, 'id'> : never) : never;

export class CohortAnalyticsService {
  private readonly location: DatabaseLocation;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** `location`: the studio's database. */
  constructor(location: DatabaseLocation) {
    this.location = location;
  }

  cohort(range: CohortRange, labels: { from: string | null; to: string | null }): Promise<CohortAnalytics> {
    return this.ask({ kind: 'cohort', range, labels }) as Promise<CohortAnalytics>;
  }

  /** An observer's own stringency position (by display name) among the observers of their
   *  organisation (every observer, without one). */
  own(rater: string, organisationId?: string): Promise<OwnStringency> {
    return this.ask({ kind: 'own', range: { organisationId }, rater }) as Promise<OwnStringency>;
  }

  /** Equalities monitoring in aggregate (the analyst's panel). */
  equalities(range: CohortRange, labels: { from: string | null; to: string | null }): Promise<EqualitiesReport> {
    return this.ask({ kind: 'equalities', range, labels }) as Promise<EqualitiesReport>;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private ask(request: Request): Promise<Result> {
    // Each request costs seconds of the thread: a queue longer than this is refused, not grown.
    if (this.pending.size >= MAX_QUEUED) {
      return Promise.reject(new ProtocolFailure('RATE_LIMITED', 'the analytics are busy with other requests: try again in a few seconds'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread().postMessage({ ...request, id } as AnalyticsRequest);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./analytics-thread.ts', import.meta.url), { workerData: { location: this.location } });
    // The server's own handles keep the process alive; this thread never should on its own.
    worker.unref();
    worker.on('message', (reply: AnalyticsReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(new Error(`cohort analytics failed: ${reply.message}`));
    });
    const lost = (reason: string): void => {
      if (this.worker === worker) this.worker = null;
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.reject(new Error(reason));
      }
    };
    worker.on('error', (err) => lost(`the analytics thread failed: ${err.message}`));
    worker.on('exit', (code) => lost(`the analytics thread stopped (${code})`));
    this.worker = worker;
    return worker;
  }
}
