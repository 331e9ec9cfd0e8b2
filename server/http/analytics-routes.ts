// HTTP routes of the fairness analytics: the cohort's panels (and their tables as CSV, the
// report as PDF) and Angoff standard setting for coordinators and moderators, adopting a cut for
// coordinators; an observer's own stringency position for that observer only.
// Candidates and actors reach none of it. Every read is audited with the acting person.
import express from 'express';
import { AdoptCutSchema, AngoffEstimatesSchema, AngoffQuerySchema, AnalyticsFilterSchema, AnalyticsTableQuerySchema, type AdoptedCut, type AngoffPanelView, type TemplateChoice } from '../../shared/analytics.ts';
import { resultRules, type Template } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import { frameworkFor } from '../../shared/rubric.ts';
import { angoff } from '../analytics/angoff.ts';
import type { AngoffRepo, Judge, StoredEstimate } from '../analytics/angoff-repo.ts';
import { AnalysisInputError } from '../analytics/input.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { TemplatesRepo } from '../assessment/templates-repo.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Logger } from '../log.ts';
import type { CohortAnalyticsService } from '../analytics/cohort-analytics-service.ts';
import { cohortCsv } from '../analytics/cohort-csv.ts';
import { dayRange } from '../analytics/date-range.ts';
import { cohortReportPdf } from '../analytics/cohort-pdf.ts';
import { actingPerson } from '../moderation/acting-person.ts';
import { participantRoute } from './participant-route.ts';

export interface AnalyticsRouteDeps {
  auth: ParticipantAuth;
  audit: AuditRepo;
  /** The cohort's analyses, computed off the main thread (analytics/cohort-analytics-service.ts). */
  analytics: Pick<CohortAnalyticsService, 'cohort' | 'own'>;
  templates: TemplatesRepo;
  angoff: AngoffRepo;
  log: Logger;
}

export function analyticsRoutes(deps: AnalyticsRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);
  const cohortReaders = ['coordinator', 'moderator'] as const;
  const observers = ['observer', 'leadObserver'] as const;
  router.use('/analytics', express.json({ limit: '8kb' }));

  router.get(
    '/analytics/cohort',
    as(async (req, res, viewer) => {
      const q = AnalyticsFilterSchema.parse(req.query);
      const analytics = await deps.analytics.cohort({ ...dayRange(q), organisationId: deps.auth.organisationOf(viewer) }, { from: q.from ?? null, to: q.to ?? null });
      deps.audit.append({ actor: actingPerson(viewer), action: 'analytics.viewed', detail: { from: q.from ?? null, to: q.to ?? null } });
      res.json(analytics);
    }, cohortReaders),
  );

  router.get(
    '/analytics/cohort.csv',
    as(async (req, res, viewer) => {
      const q = AnalyticsTableQuerySchema.parse(req.query);
      const analytics = await deps.analytics.cohort({ ...dayRange(q), organisationId: deps.auth.organisationOf(viewer) }, { from: q.from ?? null, to: q.to ?? null });
      deps.audit.append({ actor: actingPerson(viewer), action: 'analytics.exported', detail: { table: q.table, from: q.from ?? null, to: q.to ?? null } });
      res.setHeader('Content-Disposition', `attachment; filename="${q.table}.csv"`);
      res.type('text/csv').send(cohortCsv(analytics, q.table));
    }, cohortReaders),
  );

  router.get(
    '/analytics/cohort.pdf',
    as(async (req, res, viewer) => {
      const q = AnalyticsFilterSchema.parse(req.query);
      const analytics = await deps.analytics.cohort({ ...dayRange(q), organisationId: deps.auth.organisationOf(viewer) }, { from: q.from ?? null, to: q.to ?? null });
      const pdf = await cohortReportPdf(analytics, `${viewer.displayName} (${viewer.role})`);
      deps.audit.append({ actor: actingPerson(viewer), action: 'analytics.reportDownloaded', detail: { from: q.from ?? null, to: q.to ?? null } });
      res.setHeader('Content-Disposition', 'attachment; filename="cohort-report.pdf"');
      res.type('application/pdf').send(pdf);
    }, cohortReaders),
  );

  router.get(
    '/analytics/my-stringency',
    as(async (req, res, viewer) => {
      AnalyticsFilterSchema.pick({ participantId: true }).parse(req.query);
      res.json(await deps.analytics.own(viewer.displayName, deps.auth.organisationOf(viewer)));
    }, observers),
  );

  const angoffItems = (template: Template): Array<{ itemId: string; title: string }> => {
    const framework = frameworkFor(template.level);
    return (template.scoredDomains ?? framework.defaultScoredDomains).map((id) => {
      const d = framework.domains.find((x) => x.id === id);
      return { itemId: id, title: d ? `${d.number}. ${d.title}` : id };
    });
  };
  const scoredTemplate = (templateId: string, viewer: Participant): Template => {
    const template = deps.templates.latest(templateId, deps.auth.organisationOf(viewer));
    if (!template) throw new ProtocolFailure('NOT_FOUND', 'no such template');
    if (template.practice) throw new ProtocolFailure('CONFLICT', 'a practice template is not scored');
    return template;
  };
  /** A judge is the person behind the record (a staff desk's record is the person itself). */
  const judgeOf = (viewer: Participant): Judge => ({ id: viewer.personId ?? viewer.id, name: viewer.displayName });
  /** The judges' Angoff panel; its pass mark is a mean rating (the cut is a sum over the items). */
  const angoffPanel = (template: Template, estimates: readonly StoredEstimate[]): AngoffPanelView['result'] => {
    const items = angoffItems(template).length;
    try {
      const result = angoff(estimates);
      return { ok: true, result: { ...result, passMark: result.cut / items } };
    } catch (error) {
      if (error instanceof AnalysisInputError) return { ok: false, reason: error.message };
      throw error;
    }
  };

  // The scored templates a cut can be set for (moderators set standards too, but do not manage templates).
  router.get(
    '/analytics/templates',
    as((req, res, viewer) => {
      AnalyticsFilterSchema.pick({ participantId: true }).parse(req.query);
      const list: TemplateChoice[] = deps.templates
        .list(deps.auth.organisationOf(viewer))
        .filter((t) => !t.practice)
        .map((t) => ({ id: t.id, name: t.name, version: t.version, observationPassMark: resultRules(t).observationPassMark }));
      res.json(list);
    }, cohortReaders),
  );

  router.get(
    '/analytics/angoff',
    as((req, res, viewer) => {
      const q = AngoffQuerySchema.parse(req.query);
      const template = scoredTemplate(q.templateId, viewer);
      const estimates = deps.angoff.list(template.id, deps.auth.organisationOf(viewer));
      const mine = Object.fromEntries(estimates.filter((e) => e.judge === judgeOf(viewer).id).map((e) => [e.item, e.estimate]));
      const view: AngoffPanelView = {
        templateId: template.id,
        templateName: template.name,
        templateVersion: template.version,
        items: angoffItems(template),
        mine,
        result: angoffPanel(template, estimates),
      };
      res.json(view);
    }, cohortReaders),
  );

  // A judge's estimates: every scored domain of the template, each a rating 1–4.
  router.put(
    '/analytics/angoff',
    as((req, res, viewer) => {
      const body = AngoffEstimatesSchema.parse(req.body);
      const template = scoredTemplate(body.templateId, viewer);
      const wanted = angoffItems(template).map((i) => i.itemId);
      const given = Object.keys(body.estimates);
      const missing = wanted.filter((id) => !given.includes(id));
      const unknown = given.filter((id) => !wanted.includes(id));
      if (missing.length || unknown.length) {
        throw new ProtocolFailure(
          'INVALID_PAYLOAD',
          `estimates: give one estimate for each scored domain of the template${missing.length ? ` (missing ${missing.join(', ')})` : ''}${unknown.length ? ` (not scored: ${unknown.join(', ')})` : ''}`,
        );
      }
      deps.angoff.save(template.id, judgeOf(viewer), viewer.id, new Map(wanted.map((id) => [id, body.estimates[id]!])), deps.auth.organisationOf(viewer));
      deps.audit.append({ actor: actingPerson(viewer), action: 'angoff.estimated', detail: { templateId: template.id, estimates: body.estimates } });
      res.json({ saved: wanted.length });
    }, cohortReaders),
  );

  // "Adopt this cut": a new version of the template with the cut as its observation pass mark.
  // Sessions keep the template version they were booked with, so no past result moves.
  router.post(
    '/analytics/adopt-cut',
    as(async (req, res, viewer) => {
      const body = AdoptCutSchema.parse(req.body);
      const template = scoredTemplate(body.templateId, viewer);
      let cut: number;
      let basis: Record<string, unknown>;
      if (body.method === 'angoff') {
        const panel = angoffPanel(template, deps.angoff.list(template.id, deps.auth.organisationOf(viewer)));
        if (!panel.ok) throw new ProtocolFailure('CONFLICT', `no cut to adopt: ${panel.reason}`);
        cut = panel.result.passMark;
        basis = { judges: panel.result.judges, angoffCut: panel.result.cut };
      } else {
        const analytics = await deps.analytics.cohort({ ...dayRange(body), organisationId: deps.auth.organisationOf(viewer) }, { from: body.from ?? null, to: body.to ?? null });
        if (!analytics.brm.ok) throw new ProtocolFailure('CONFLICT', `no cut to adopt: ${analytics.brm.reason}`);
        cut = analytics.brm.result.examCut;
        basis = { from: body.from ?? null, to: body.to ?? null, examCut: cut, stations: analytics.brm.result.stations.length };
      }
      const rules = resultRules(template);
      // The pass mark is a mean rating on the 1–4 scale, kept to two decimals.
      const passMark = Math.min(4, Math.max(1, Math.round(cut * 100) / 100));
      const { version: _previous, ...rest } = template;
      const saved = deps.templates.saveNewVersion({ ...rest, results: { ...rules, observationPassMark: passMark } }, deps.auth.organisationOf(viewer));
      const adopted: AdoptedCut = { templateId: saved.id, method: body.method, version: saved.version, previousPassMark: rules.observationPassMark, observationPassMark: passMark };
      deps.audit.append({ actor: actingPerson(viewer), action: 'template.cutAdopted', detail: { ...adopted, ...basis } });
      res.json(adopted);
    }, ['coordinator']),
  );

  return router;
}
