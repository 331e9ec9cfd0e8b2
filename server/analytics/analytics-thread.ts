// The cohort analytics' thread (see cohort-analytics-service.ts). It owns a read-only connection
// to the studio's database and computes one request at a time: reading 300 days of ratings and
// fitting the models takes seconds, which on the main thread would stall every live call,
// timer and collaboration connection of the day.
import { parentPort, workerData } from 'node:worker_threads';
import type { CohortAnalytics, OwnStringency } from '../../shared/analytics.ts';
import type { EqualitiesReport } from '../../shared/equalities.ts';
import { PlansRepo } from '../assessment/plans-repo.ts';
import { DocStore } from '../collab/doc-store.ts';
import { connectTo, type DatabaseLocation } from '../db/database.ts';
import { SessionsRepo } from '../db/sessions-repo.ts';
import { EqualitiesRepo } from '../equalities/equalities-repo.ts';
import { ModerationRepo } from '../moderation/moderation-repo.ts';
import { calibrationRatings } from '../calibration/calibration-repo.ts';
import { cohortData, type CohortRange } from './cohort-data.ts';
import { cohortAnalytics, ownStringency } from './cohort-report.ts';
import { equalitiesReport } from './equalities-report.ts';

export type AnalyticsRequest =
  | { id: number; kind: 'cohort'; range: CohortRange; labels: { from: string | null; to: string | null } }
  | { id: number; kind: 'own'; range: CohortRange; rater: string }
  | { id: number; kind: 'equalities'; range: CohortRange; labels: { from: string | null; to: string | null } };

export type AnalyticsReply = { id: number; ok: true; result: CohortAnalytics | OwnStringency | EqualitiesReport } | { id: number; ok: false; message: string };

const { location } = workerData as { location: DatabaseLocation };
const db = connectTo(location, { readOnly: true });
const deps = { db, sessions: new SessionsRepo(db), plans: new PlansRepo(db), store: new DocStore(db), moderation: new ModerationRepo(db) };
const equalities = new EqualitiesRepo(db);

function answer(request: AnalyticsRequest): CohortAnalytics | OwnStringency | EqualitiesReport {
  switch (request.kind) {
    case 'cohort':
      return cohortAnalytics(cohortData(deps, request.range), request.labels, calibrationRatings(db, request.range));
    case 'own':
      return ownStringency(cohortData(deps, request.range), request.rater, calibrationRatings(db, request.range));
    case 'equalities':
      // The answers are matched to outcomes here, in memory: no query joins the two.
      return equalitiesReport(cohortData(deps, request.range, { finalMarks: true }), equalities.answered(request.range.organisationId ?? ''), request.labels);
  }
}

parentPort!.on('message', (request: AnalyticsRequest) => {
  let reply: AnalyticsReply;
  try {
    reply = { id: request.id, ok: true, result: answer(request) };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(reply);
});
