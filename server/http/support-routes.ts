// Support without acting as anyone (issue 13): a coordinator reads what a candidate's page shows
// them, read-only and audited; the candidate reads who looked. No route here changes anything,
// and none signs anyone in as the candidate.
import express from 'express';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { CandidateSupportView, SupportLook } from '../../shared/support.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { Logger } from '../log.ts';
import type { ModerationService } from '../moderation/moderation-service.ts';
import { participantRoute } from './participant-route.ts';

export interface SupportRouteDeps {
  auth: ParticipantAuth;
  assessment: AssessmentService;
  moderation: ModerationService;
  sessions: SessionsRepo;
  audit: AuditRepo;
  log: Logger;
}

const LOOKED = 'support.viewed_as_candidate';

export function supportRoutes(deps: SupportRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);

  router.get(
    '/support/sessions/:sessionId/candidate-view',
    as((req, res, viewer) => {
      const sessionId = String(req.params.sessionId);
      const candidate = deps.sessions.listParticipants(sessionId).find((p) => p.role === 'candidate');
      if (!candidate) throw new ProtocolFailure('NOT_FOUND', 'no candidate in this session');
      deps.audit.append({ sessionId, actorParticipantId: viewer.id, action: LOOKED, detail: { candidateParticipantId: candidate.id } });
      const view: CandidateSupportView = {
        candidateName: candidate.displayName,
        day: deps.assessment.dayState(sessionId),
        overview: deps.assessment.overview(candidate),
        result: deps.moderation.candidateResult(candidate),
        candidateIsTold: true,
      };
      res.json(view);
    }, ['coordinator']),
  );

  router.get(
    '/support/views/mine',
    as((_req, res, candidate) => {
      const looks: SupportLook[] = deps.audit
        .list(candidate.sessionId)
        .filter((e) => e.action === LOOKED)
        .map((e) => ({ at: e.at, name: e.actor?.name ?? 'A coordinator' }));
      res.json(looks);
    }, ['candidate']),
  );

  return router;
}
