// "View as candidate" for support (issue 13): a coordinator sees, read-only, what a candidate's
// page shows them now, without signing in as the candidate; every look is audited, and the
// candidate is told who looked and when.
import type { SessionOverview } from './assessment.ts';
import type { DayState } from './assessment.ts';
import type { CandidateResult } from './moderation.ts';

/** GET /api/support/sessions/:sessionId/candidate-view (coordinators). */
export interface CandidateSupportView {
  candidateName: string;
  /** The day as the candidate's page shows it. */
  day: DayState | null;
  /** What the candidate may read now (briefings open, scenario titles as far as revealed). */
  overview: SessionOverview;
  /** Their result as they see it (never scores). */
  result: CandidateResult;
  /** The candidate is told of this look (shown on their page). */
  candidateIsTold: true;
}

/** GET /api/support/views/mine (the candidate): who looked at their page for support, when. */
export interface SupportLook {
  at: string;
  name: string;
}
