// The cohort analytics' thread (see cohort-analytics-service.ts). It owns a read-only connection
// to the studio's database and computes one request at a time: reading 300 days of ratings and
// fitting the models takes seconds, which on the main thread would stall every live call,
// timer and collaboration connection of the day.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import type { CohortAnalytics, OwnStringency } from '../../shared/analytics.ts';
import { PlansRepo } from '../assessment/plans-repo.ts';
import { DocStore } from '../collab/doc-store.ts';
import { SessionsRepo } from '../db/sessions-repo.ts';
import { ModerationRepo } from '../moderation/moderation-repo.ts';
import { cohortData, type CohortRange } from './cohort-data.ts';
import { cohortAnalytics, ownStringency } from './cohort-report.ts';

export type AnalyticsRequest =
  | { id: number; kind: 'cohort'; range: CohortRange; labels: { from: string | null; to: string | null } }
  | { id: number; kind: 'own'; range: CohortRange; rater: string };

export type AnalyticsReply = { id: number; ok: true; result: CohortAnalytics | OwnStringency } | { id: number; ok: false; message: string };

const { file } = workerData as { file: string };
const db = new DatabaseSync(file, { readOnly: true });
db.exec('PRAGMA busy_timeout = 5000;');
const deps = { db, sessions: new SessionsRepo(db), plans: new PlansRepo(db), store: new DocStore(db), moderation: new ModerationRepo(db) };

parentPort!.on('message', (request: AnalyticsRequest) => {
  let reply: AnalyticsReply;
  try {
    const data = cohortData(deps, request.range);
    const result = request.kind === 'cohort' ? cohortAnalytics(data, request.labels) : ownStringency(data, request.rater);
    reply = { id: request.id, ok: true, result };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(reply);
});
