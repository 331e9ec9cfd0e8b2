// HTTP routes of equalities monitoring. A candidate reads and gives (once) their own answers;
// an analyst reads the aggregate, and nobody else reaches either: not observers, actors,
// moderators or coordinators. Every aggregate read is audited with the acting person.
import express from 'express';
import type { EqualitiesReport } from '../../shared/equalities.ts';
import { EqualitiesQuerySchema, EqualitiesSubmissionSchema, EqualitiesTableQuerySchema } from '../../shared/equalities-schemas.ts';
import { dayRange } from '../analytics/date-range.ts';
import { equalitiesCsv } from '../equalities/equalities-csv.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { Participant } from '../../shared/domain.ts';
import type { CohortRange } from '../analytics/cohort-data.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { EqualitiesRepo } from '../equalities/equalities-repo.ts';
import type { Logger } from '../log.ts';
import { actingPerson } from '../moderation/acting-person.ts';
import { participantRoute } from './participant-route.ts';

export interface EqualitiesRouteDeps {
  auth: ParticipantAuth;
  audit: AuditRepo;
  equalities: EqualitiesRepo;
  /** The candidate reference of a candidate's session (what links them across sessions). */
  candidateRef: (candidate: Participant) => string | null;
  /** The aggregate of the sessions in [from, to) (epoch ms), computed off the main thread. */
  report: (range: CohortRange, labels: { from: string | null; to: string | null }) => Promise<EqualitiesReport>;
  now?: () => Date;
  log: Logger;
}


export function equalitiesRoutes(deps: EqualitiesRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);
  const now = deps.now ?? (() => new Date());
  router.use('/equalities', express.json({ limit: '4kb' }));

  const refOf = (candidate: Participant): string => {
    const ref = deps.candidateRef(candidate);
    if (!ref) throw new ProtocolFailure('NOT_FOUND', 'this session was booked without a candidate reference, so there is nothing to ask');
    return ref;
  };
  /** Answers belong to the candidate's organisation: a reference means nothing in another. */
  const orgOf = (candidate: Participant): string => deps.auth.organisationOf(candidate) ?? '';

  router.get(
    '/equalities/mine',
    as((_req, res, candidate) => void res.json(deps.equalities.mine(orgOf(candidate), refOf(candidate))), ['candidate']),
  );

  router.put(
    '/equalities/mine',
    as((req, res, candidate) => {
      const submission = EqualitiesSubmissionSchema.parse(req.body);
      const ref = refOf(candidate);
      if (!deps.equalities.submit(orgOf(candidate), ref, submission, now())) {
        throw new ProtocolFailure('CONFLICT', 'you have already answered (or declined) the equalities questions; ask your coordinator if something needs correcting');
      }
      // Who answered, never what: the answers stay in their own table.
      deps.audit.append({ sessionId: candidate.sessionId, actorParticipantId: candidate.id, action: submission.decision === 'answer' ? 'equalities.answered' : 'equalities.declined' });
      res.json(deps.equalities.mine(orgOf(candidate), ref));
    }, ['candidate']),
  );

  router.get(
    '/analytics/equalities',
    as(async (req, res, analyst) => {
      const q = EqualitiesQuerySchema.parse(req.query);
      const report = await deps.report({ ...dayRange(q), organisationId: deps.auth.organisationOf(analyst) }, { from: q.from ?? null, to: q.to ?? null });
      deps.audit.append({ actor: actingPerson(analyst), action: 'equalities.viewed', detail: { from: q.from ?? null, to: q.to ?? null } });
      res.json(report);
    }, ['analyst']),
  );

  router.get(
    '/analytics/equalities.csv',
    as(async (req, res, analyst) => {
      const q = EqualitiesTableQuerySchema.parse(req.query);
      const report = await deps.report({ ...dayRange(q), organisationId: deps.auth.organisationOf(analyst) }, { from: q.from ?? null, to: q.to ?? null });
      deps.audit.append({ actor: actingPerson(analyst), action: 'equalities.exported', detail: { table: q.table, from: q.from ?? null, to: q.to ?? null } });
      res.setHeader('Content-Disposition', `attachment; filename="equalities-${q.table}.csv"`);
      res.type('text/csv').send(equalitiesCsv(report, q.table));
    }, ['analyst']),
  );

  return router;
}
