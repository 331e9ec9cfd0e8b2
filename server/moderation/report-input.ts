// What the candidate's report (and the employer's summary) is made from: one signed-off
// session's facts in report terms. Shared by the report download and the subject access export,
// so both give the candidate the same document.
import type { Participant } from '../../shared/domain.ts';
import type { Element } from '../../shared/moderation.ts';
import { overallFeedback } from './marks.ts';
import type { ModerationService, SessionFacts } from './moderation-service.ts';
import type { ReportInput } from './report-pdf.ts';

export function reportInputOf(moderation: ModerationService, facts: SessionFacts): ReportInput {
  const standing = moderation.standingOutcome(facts) ?? {};
  const reviews = moderation.repo.reviews(facts.session.id).filter((r) => r.decidedAt !== null);
  const name = (role: Participant['role']): string => facts.participants.find((p) => p.role === role)?.displayName ?? '';
  return {
    sessionId: facts.session.id,
    candidateName: facts.candidate?.displayName ?? '',
    candidateRef: facts.plan.candidateRef,
    level: facts.session.level,
    template: facts.plan.template,
    assessedOn: facts.plan.scheduledStart,
    outcome: facts.results
      .filter((r) => standing[r.element])
      .map((r) => ({ element: r.element as Element, outcome: standing[r.element]!, carriedOver: r.carriedOver !== null })),
    feedback: overallFeedback(facts.rubric),
    rows: facts.rows,
    signedOffAt: facts.stored?.signedOffAt ?? new Date().toISOString(),
    reviewedAt: reviews.at(-1)?.decidedAt ?? null,
    // The moderator who signed off may hold another session's invite (moderators work across sessions).
    assessors: { leadObserver: name('leadObserver'), moderator: moderation.person(facts.stored?.signedOffBy)?.name ?? '' },
    employer: facts.plan.employer,
  };
}
