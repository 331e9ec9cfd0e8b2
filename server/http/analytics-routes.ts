// HTTP routes of the fairness analytics: the cohort's panels (and their tables as CSV) for
// coordinators and moderators; an observer's own stringency position for that observer only.
// Candidates and actors reach none of it. Every read is audited with the acting person.
import express from 'express';
import { AdoptCutSchema, AnalyticsFilterSchema, AnalyticsTableQuerySchema, type AdoptedCut } from '../../shared/analytics.ts';
import { resultRules } from '../../shared/assessment.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { TemplatesRepo } from '../assessment/templates-repo.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Logger } from '../log.ts';
import type { CohortData } from '../analytics/cohort-data.ts';
import { cohortCsv } from '../analytics/cohort-csv.ts';
import { cohortReportPdf } from '../analytics/cohort-pdf.ts';
import { cohortAnalytics, ownStringency } from '../analytics/cohort-report.ts';
import { actingPerson } from '../moderation/acting-person.ts';
import { participantRoute } from './participant-route.ts';

export interface AnalyticsRouteDeps {
  auth: ParticipantAuth;
  audit: AuditRepo;
  /** The stored ratings of completed sessions planned to start within [from, to) (epoch ms). */
  cohort: (range: { from?: number; to?: number }) => CohortData;
  templates: TemplatesRepo;
  log: Logger;
}

const DAY_MS = 86_400_000;
/** "YYYY-MM-DD" days (both included, UTC) as the cohort's [from, to) in epoch ms. */
const rangeOf = (q: { from?: string; to?: string }): { from?: number; to?: number } => ({
  ...(q.from ? { from: Date.parse(`${q.from}T00:00:00Z`) } : {}),
  ...(q.to ? { to: Date.parse(`${q.to}T00:00:00Z`) + DAY_MS } : {}),
});

export function analyticsRoutes(deps: AnalyticsRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);
  const cohortReaders = ['coordinator', 'moderator'] as const;
  const observers = ['observer', 'leadObserver'] as const;
  router.use('/analytics', express.json({ limit: '8kb' }));

  router.get(
    '/analytics/cohort',
    as((req, res, viewer) => {
      const q = AnalyticsFilterSchema.parse(req.query);
      const analytics = cohortAnalytics(deps.cohort(rangeOf(q)), { from: q.from ?? null, to: q.to ?? null });
      deps.audit.append({ actor: actingPerson(viewer), action: 'analytics.viewed', detail: { from: q.from ?? null, to: q.to ?? null } });
      res.json(analytics);
    }, cohortReaders),
  );

  router.get(
    '/analytics/cohort.csv',
    as((req, res, viewer) => {
      const q = AnalyticsTableQuerySchema.parse(req.query);
      const analytics = cohortAnalytics(deps.cohort(rangeOf(q)), { from: q.from ?? null, to: q.to ?? null });
      deps.audit.append({ actor: actingPerson(viewer), action: 'analytics.exported', detail: { table: q.table, from: q.from ?? null, to: q.to ?? null } });
      res.setHeader('Content-Disposition', `attachment; filename="${q.table}.csv"`);
      res.type('text/csv').send(cohortCsv(analytics, q.table));
    }, cohortReaders),
  );

  router.get(
    '/analytics/cohort.pdf',
    as(async (req, res, viewer) => {
      const q = AnalyticsFilterSchema.parse(req.query);
      const analytics = cohortAnalytics(deps.cohort(rangeOf(q)), { from: q.from ?? null, to: q.to ?? null });
      const pdf = await cohortReportPdf(analytics, `${viewer.displayName} (${viewer.role})`);
      deps.audit.append({ actor: actingPerson(viewer), action: 'analytics.reportDownloaded', detail: { from: q.from ?? null, to: q.to ?? null } });
      res.setHeader('Content-Disposition', 'attachment; filename="cohort-report.pdf"');
      res.type('application/pdf').send(pdf);
    }, cohortReaders),
  );

  router.get(
    '/analytics/my-stringency',
    as((req, res, viewer) => {
      AnalyticsFilterSchema.pick({ participantId: true }).parse(req.query);
      res.json(ownStringency(deps.cohort({}), viewer.displayName));
    }, observers),
  );

  // "Adopt this cut": a new version of the template with the range's exam cut as its observation
  // pass mark. Sessions keep the template version they were booked with, so no past result moves.
  router.post(
    '/analytics/adopt-cut',
    as((req, res, viewer) => {
      const body = AdoptCutSchema.parse(req.body);
      const template = deps.templates.latest(body.templateId);
      if (!template) throw new ProtocolFailure('NOT_FOUND', 'no such template');
      if (template.practice) throw new ProtocolFailure('CONFLICT', 'a practice template has no pass mark');
      const analytics = cohortAnalytics(deps.cohort(rangeOf(body)), { from: body.from ?? null, to: body.to ?? null });
      if (!analytics.brm.ok) throw new ProtocolFailure('CONFLICT', `no cut to adopt: ${analytics.brm.reason}`);
      const rules = resultRules(template);
      // The pass mark is a mean rating on the 1–4 scale, kept to two decimals.
      const cut = Math.min(4, Math.max(1, Math.round(analytics.brm.result.examCut * 100) / 100));
      const { version: _previous, ...rest } = template;
      const saved = deps.templates.saveNewVersion({ ...rest, results: { ...rules, observationPassMark: cut } });
      const adopted: AdoptedCut = { templateId: saved.id, version: saved.version, previousPassMark: rules.observationPassMark, observationPassMark: cut };
      deps.audit.append({
        actor: actingPerson(viewer),
        action: 'template.cutAdopted',
        detail: { ...adopted, from: body.from ?? null, to: body.to ?? null, examCut: analytics.brm.result.examCut, stations: analytics.brm.result.stations.length },
      });
      res.json(adopted);
    }, ['coordinator']),
  );

  return router;
}
