// Observer calibration (issue 14, item 3): a recorded scenario of a signed-off session, used
// with the candidate's and actor's consent as a case every observer scores independently
// against reference marks (the scenario's final, moderated marks, copied when the case is made).
import { z } from 'zod';
import type { RatingLevel } from './rubric.ts';

/** An attempt passes when every domain is within this many points of the reference. */
export const CALIBRATION_PASS_TOLERANCE = 1;

/** A coordinator makes a case: one scenario of a signed-off session, consent confirmed. */
export const CreateCalibrationCaseSchema = z.strictObject({
  sessionId: z.uuid(),
  scenario: z.number().int().min(1).max(3),
  consent: z.strictObject({
    candidate: z.literal(true, 'confirm the candidate consented to this recording being used for calibration'),
    actor: z.literal(true, 'confirm the actor consented to this recording being used for calibration'),
  }),
});
export type CreateCalibrationCase = z.infer<typeof CreateCalibrationCaseSchema>;

/** An observer's attempt: every scored domain rated 1–4, and the 1–7 global judgement. */
export const CalibrationAttemptSchema = z.strictObject({
  ratings: z.record(z.string().min(1).max(40), z.number().int().min(1).max(4)),
  global: z.number().int().min(1).max(7),
});
export type CalibrationAttemptInput = z.infer<typeof CalibrationAttemptSchema>;

export const CalibrationCaseParamsSchema = z.object({ caseId: z.uuid() });
export const CalibrationMediaParamsSchema = z.object({ caseId: z.uuid(), recordingId: z.uuid() });

/** A recorded scenario a coordinator could make a case of. */
export interface CalibrationSource {
  sessionId: string;
  sessionTitle: string;
  /** Planned start, epoch ms. */
  scheduledStart: number | null;
  scenario: number;
  scenarioTitle: string;
  recordings: number;
  /** The case already made of it, if any. */
  caseId: string | null;
}

export type CalibrationStatus = 'open' | 'submitted' | 'observedLive';

export interface CalibrationCaseSummary {
  id: string;
  title: string;
  createdAt: string;
  domains: number;
  /** For an observer: whether they may still score it. For a coordinator: always 'open'. */
  status: CalibrationStatus;
  /** For coordinators only: how many observers have submitted. */
  attempts?: number;
}

/** One domain of an attempt's result: the observer's rating against the reference and peers. */
export interface CalibrationDomainResult {
  itemId: string;
  title: string;
  rating: number;
  reference: number;
  /** rating − reference (positive: more lenient than the reference). */
  fromReference: number;
  /** Mean of the other observers' submitted ratings (null: nobody else yet). */
  peerMean: number | null;
  fromPeers: number | null;
  withinTolerance: boolean;
}

export interface CalibrationResult {
  submittedAt: string;
  global: number;
  passed: boolean;
  tolerance: number;
  peers: number;
  domains: CalibrationDomainResult[];
}

/** What an observer sees of a case: never the candidate's name, and the reference marks and
 *  other observers' scores only inside `result`, after they have submitted. */
export interface CalibrationCaseView {
  id: string;
  title: string;
  status: CalibrationStatus;
  domains: Array<{ id: string; title: string }>;
  scale: RatingLevel[];
  globalScale: RatingLevel[];
  recordings: Array<{ id: string; label: string; offsetMs: number; durationMs: number | null }>;
  result: CalibrationResult | null;
}

/** Rows shaped like the cohort's ratings, for observer stringency over time. */
export interface CalibrationRatingRow {
  /** `calibration:<caseId>`: each case is one "candidate" every observer rated. */
  candidate: string;
  rater: string;
  item: string;
  score: number;
}
