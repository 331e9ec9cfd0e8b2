// HTTP routes of moderation and results: the moderators' queue and view, changing marks,
// sign-off, independent reviews, the candidate's own result and report, the employer's
// summary and the coordinators' CSV export. Moderators and coordinators work across sessions;
// a candidate reaches only their own session's result. Every action is taken — and audited —
// as the signed-in acting person (moderation/acting-person.ts), never as "the system".
import express, { type Response } from 'express';
import { z } from 'zod';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { ModerationView } from '../../shared/moderation.ts';
import {
  ChangeMarkSchema,
  DecideReviewSchema,
  OpenReviewSchema,
  QueueFilterSchema,
  SamplingRuleSchema,
  SignOffSchema,
} from '../../shared/moderation-schemas.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Logger } from '../log.ts';
import type { ModerationService, SessionFacts } from '../moderation/moderation-service.ts';
import { candidateReportPdf, employerSummaryPdf, type ReportInput } from '../moderation/report-pdf.ts';
import { resultsCsv } from '../moderation/results-csv.ts';
import { actingPerson } from '../moderation/acting-person.ts';
import { reportInputOf } from '../moderation/report-input.ts';
import { participantRoute } from './participant-route.ts';

export interface ModerationRouteDeps {
  auth: ParticipantAuth;
  moderation: ModerationService;
  audit: AuditRepo;
  /** The session a participant record belongs to (for the organisation of a named reviewer). */
  sessionOfParticipant: (participantId: string) => string | undefined;
  log: Logger;
}

const SessionParam = z.object({ sessionId: z.uuid() });
const ReviewParams = z.object({ sessionId: z.uuid(), reviewId: z.uuid() });
const CsvQuery = QueueFilterSchema.pick({ participantId: true, from: true, to: true });

export function moderationRoutes(deps: ModerationRouteDeps): express.Router {
  const router = express.Router();
  // Only this router's own paths (see assessment-routes): each router's limit is the one that applies.
  router.use(['/moderation', '/results'], express.json({ limit: '64kb' }));
  const as = participantRoute(deps);
  const readers = ['moderator', 'coordinator'] as const;
  const moderatorOnly = ['moderator'] as const;
  // Who may open a review (coordinators handle appeals; a moderator may ask for one); only the
  // named reviewer, a moderator, decides it (checked in the service).
  const reviewOpeners = ['moderator', 'coordinator'] as const;
  const organisationOf = (viewer: Participant): string | undefined => deps.auth.organisationOf(viewer);
  // A reviewer is a moderator of the viewer's organisation: the service's list of moderators
  // spans every session, so another organisation's are neither offered nor accepted.
  const ownOrganisation = (viewer: Participant, participantId: string): boolean => {
    const sessionId = deps.sessionOfParticipant(participantId);
    return sessionId !== undefined && deps.auth.sameOrganisation(viewer, sessionId);
  };
  const forViewer = (view: ModerationView, viewer: Participant): ModerationView => ({
    ...view,
    eligibleReviewers: view.eligibleReviewers.filter((r) => ownOrganisation(viewer, r.participantId)),
  });
  const sessionOf = (params: unknown): string => {
    const p = SessionParam.safeParse(params);
    if (!p.success) throw new ProtocolFailure('NOT_FOUND', 'no such assessment session');
    return p.data.sessionId;
  };

  router.get(
    '/moderation/queue',
    as((req, res, viewer) => {
      const q = QueueFilterSchema.parse(req.query);
      res.json(deps.moderation.queue({ from: q.from, to: q.to, status: q.status, sampledOnly: q.sampledOnly === 'true', organisationId: organisationOf(viewer) }));
    }, readers),
  );

  router.get('/moderation/sampling', as((_req, res, viewer) => void res.json(deps.moderation.samplingRule(organisationOf(viewer))), readers));
  router.put(
    '/moderation/sampling',
    as((req, res, viewer) => void res.json(deps.moderation.saveSamplingRule(actingPerson(viewer), SamplingRuleSchema.parse(req.body), organisationOf(viewer))), readers),
  );

  router.get(
    '/moderation/sessions/:sessionId',
    as((req, res, viewer) => {
      const sessionId = sessionOf(req.params);
      const view = forViewer(deps.moderation.view(sessionId, actingPerson(viewer)), viewer);
      deps.audit.append({ sessionId, actor: actingPerson(viewer), action: 'moderation.viewed' });
      res.json(view);
    }, readers),
  );

  router.post(
    '/moderation/sessions/:sessionId/marks',
    as((req, res, viewer) => void res.json(forViewer(deps.moderation.changeMark(actingPerson(viewer), sessionOf(req.params), ChangeMarkSchema.parse(req.body)), viewer)), moderatorOnly),
  );

  router.post(
    '/moderation/sessions/:sessionId/sign-off',
    as((req, res, viewer) => void res.json(forViewer(deps.moderation.signOff(actingPerson(viewer), sessionOf(req.params), SignOffSchema.parse(req.body)), viewer)), moderatorOnly),
  );

  router.post(
    '/moderation/sessions/:sessionId/reviews',
    as((req, res, viewer) => {
      const sessionId = sessionOf(req.params);
      const body = OpenReviewSchema.parse(req.body);
      // The same answer as for a person who does not exist.
      if (!ownOrganisation(viewer, body.reviewerParticipantId)) throw new ProtocolFailure('INVALID_PAYLOAD', 'no such person: choose the independent reviewer from the list');
      res.json(forViewer(deps.moderation.openReview(actingPerson(viewer), sessionId, body), viewer));
    }, reviewOpeners),
  );

  router.post(
    '/moderation/sessions/:sessionId/reviews/:reviewId/decision',
    as((req, res, viewer) => {
      const p = ReviewParams.safeParse(req.params);
      if (!p.success) throw new ProtocolFailure('NOT_FOUND', 'no such review');
      res.json(forViewer(deps.moderation.decideReview(actingPerson(viewer), p.data.sessionId, p.data.reviewId, DecideReviewSchema.parse(req.body)), viewer));
    }, moderatorOnly),
  );

  // ---- results ----

  router.get('/results/mine', as((_req, res, viewer) => void res.json(deps.moderation.candidateResult(viewer)), ['candidate']));

  // The candidate downloads their own report; moderators and coordinators any (to check and send it).
  router.get(
    '/results/:sessionId/report.pdf',
    as(async (req, res, viewer) => {
      const sessionId = sessionOf(req.params);
      if (viewer.role === 'candidate' && viewer.sessionId !== sessionId) throw new ProtocolFailure('FORBIDDEN', 'this is not your report');
      const facts = signedOffFacts(sessionId);
      await sendPdf(res, viewer, facts, 'report', await candidateReportPdf(reportInput(facts)));
    }, ['candidate', 'moderator', 'coordinator']),
  );

  router.get(
    '/results/:sessionId/employer-summary.pdf',
    as(async (req, res, viewer) => {
      const facts = signedOffFacts(sessionOf(req.params));
      if (!facts.plan.employer?.consent) {
        throw new ProtocolFailure('FORBIDDEN', 'the candidate did not consent to their employer receiving a summary (recorded at booking)');
      }
      await sendPdf(res, viewer, facts, 'employer-summary', await employerSummaryPdf(reportInput(facts)));
    }, readers),
  );

  router.get(
    '/results.csv',
    as((req, res, viewer) => {
      const q = CsvQuery.parse(req.query);
      const csv = resultsCsv(deps.moderation.queue({ from: q.from, to: q.to, organisationId: organisationOf(viewer) }));
      deps.audit.append({ actor: actingPerson(viewer), action: 'report.results_exported', detail: { from: q.from ?? null, to: q.to ?? null } });
      res
        .type('text/csv; charset=utf-8')
        .set('Content-Disposition', `attachment; filename="simstudio-results${q.from ? `-${q.from}` : ''}${q.to ? `-to-${q.to}` : ''}.csv"`)
        .set('Cache-Control', 'private, no-store')
        .send(csv);
    }, ['coordinator']),
  );

  function signedOffFacts(sessionId: string): SessionFacts {
    const facts = deps.moderation.facts(sessionId);
    if (facts.status === 'underReview') throw new ProtocolFailure('CONFLICT', 'this result is under independent review; the report is available again once the review is decided');
    if (facts.status !== 'moderated') throw new ProtocolFailure('CONFLICT', 'the result has not been signed off yet; the report is available once it is');
    return facts;
  }

  const reportInput = (facts: SessionFacts): ReportInput => reportInputOf(deps.moderation, facts);

  async function sendPdf(res: Response, viewer: Participant, facts: SessionFacts, kind: string, pdf: Buffer): Promise<void> {
    deps.audit.append({ sessionId: facts.session.id, actor: actingPerson(viewer), action: `report.${kind}_downloaded`, detail: { bytes: pdf.length } });
    const who = (facts.candidate?.displayName ?? 'candidate').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'candidate';
    res
      .type('application/pdf')
      .set('Content-Disposition', `attachment; filename="${kind}-${who}.pdf"`)
      .set('Cache-Control', 'private, no-store')
      .send(pdf);
  }

  return router;
}
