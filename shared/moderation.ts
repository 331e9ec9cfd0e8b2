// Moderation and results: after the day, moderators compare the observers' ratings, settle
// the final marks with reasons and sign the result off; a signed-off result changes only
// through a recorded independent review. Types shared by server and client; the request
// schemas are in moderation-schemas.ts.
import type { z } from 'zod';
import type { ElementSchema, PartSchema, ResultRulesSchema, ModerationStatusSchema, SamplingRuleSchema, ChangeMarkSchema, SignOffSchema, OpenReviewSchema, DecideReviewSchema } from './moderation-schemas.ts';
import type { EvidenceNoteView } from './api.ts';
import type { Level } from './domain.ts';
import type { Role } from './roles.ts';
import type { RatingLevel } from './rubric.ts';

// ---- who acts ----

/** The person behind a moderation action, as recorded in reviews and the audit log. Until
 *  people accounts exist this is the signed-in participant record (one invite); the people
 *  accounts issue swaps what `participantId` points at, not this shape's users. */
export interface ActingPerson {
  participantId: string;
  name: string;
  role: Role;
  /** The person (issue 13) behind the participant record, when known. */
  personId?: string;
}

// ---- elements, parts and items ----

/** The elements of the assessment that each pass or fail on their own. */
export const ELEMENTS = ['observation', 'written'] as const;
export type Element = z.infer<typeof ElementSchema>;
export const ELEMENT_LABELS: Record<Element, string> = {
  observation: 'Simulated observation',
  written: 'Written exercise',
};
export type Part = z.infer<typeof PartSchema>;

export function elementOf(part: Part): Element {
  return part === 'written' ? 'written' : 'observation';
}

/** The scale a part is rated on: the reflective conversation has its own. */
export function scaleOf(view: Pick<ModerationView, 'scale' | 'reflectionScale'>, part: Part): RatingLevel[] {
  return part === 'reflective' ? view.reflectionScale : view.scale;
}

export function partLabel(part: Part): string {
  if (part === 'reflective') return 'Reflective conversation';
  if (part === 'written') return 'Written exercise';
  return `Scenario ${part}`;
}

/** What the written exercise is marked on (the written assessment as designed: case notes,
 *  risk assessment, decision-making), on the same 1–4 scale as the domains. */
export const WRITTEN_CRITERIA = [
  { id: 'written-notes', number: 1, title: 'Case notes: clear, reflective and analytical' },
  { id: 'written-risk', number: 2, title: 'Risk assessment' },
  { id: 'written-decisions', number: 3, title: 'Decision-making and planning' },
] as const;
export type ResultRules = z.infer<typeof ResultRulesSchema>;

/** Pass marks are template settings (standard setting computes them later). Every domain
 *  "meets the standard" (3) passes; a quarter of the marks at "borderline" (2) still passes. */
export const DEFAULT_RESULT_RULES: ResultRules = {
  observationPassMark: 2.75,
  writtenPassMark: 2.75,
  borderlineMargin: 0.25,
  reportNamesAssessors: false,
};

export type Outcome = 'pass' | 'fail';

export interface ElementResult {
  element: Element;
  /** false when this session does not assess the element (a retake of the other one, or a template without it). */
  assessed: boolean;
  /** Mean of the final marks, two decimals; null while any mark is missing. */
  score: number | null;
  passMark: number;
  /** Marks still missing for this element. */
  missing: number;
  outcome: Outcome | null;
  /** Within the borderline margin of the pass mark. */
  borderline: boolean;
  /** For an element not assessed here: the outcome carried over from an earlier session. */
  carriedOver: { sessionId: string; outcome: Outcome } | null;
}

/** Pass or fail of one element from its final marks (null marks are missing). */
export function elementResult(element: Element, marks: Array<number | null>, rules: ResultRules): ElementResult {
  const passMark = element === 'observation' ? rules.observationPassMark : rules.writtenPassMark;
  const missing = marks.filter((m) => m === null).length;
  const given = marks.filter((m): m is number => m !== null);
  if (marks.length === 0 || missing > 0) {
    return { element, assessed: true, score: null, passMark, missing: marks.length === 0 ? 1 : missing, outcome: null, borderline: false, carriedOver: null };
  }
  const score = Math.round((given.reduce((a, b) => a + b, 0) / given.length) * 100) / 100;
  return {
    element,
    assessed: true,
    score,
    passMark,
    missing: 0,
    outcome: score >= passMark ? 'pass' : 'fail',
    // Strictly within the margin: at the default rules (pass 2.75, margin 0.25) every mark at
    // "Meets the standard" (3.00) is a clear pass, not a borderline one.
    borderline: Math.abs(score - passMark) < rules.borderlineMargin - 1e-9,
    carriedOver: null,
  };
}

// ---- the queue ----

export const MODERATION_STATUSES = ['awaiting', 'moderated', 'underReview'] as const;
export type ModerationStatus = z.infer<typeof ModerationStatusSchema>;
export const MODERATION_STATUS_LABELS: Record<ModerationStatus, string> = {
  awaiting: 'Awaiting moderation',
  moderated: 'Moderated',
  underReview: 'Under review',
};
export type SamplingRule = z.infer<typeof SamplingRuleSchema>;
export const DEFAULT_SAMPLING_RULE: SamplingRule = { includeFails: true, includeBorderline: true, passPercent: 10 };

export interface QueueRow {
  sessionId: string;
  title: string;
  candidateName: string;
  candidateRef: string | null;
  scheduledStart: number | null;
  templateName: string;
  status: ModerationStatus;
  /** Provisional (from the observers) until signed off; then the locked outcome. */
  results: ElementResult[];
  sampled: { selected: boolean; reason: string };
  retake: { of: string; element: Element } | null;
  /** Observers' own ratings left blank (a day scored in part is not queued as a complete one). */
  missingRatings: number;
}

// ---- the moderation view ----

export interface ObserverRating {
  observerId: string;
  observerName: string;
  lead: boolean;
  rating: number | null;
}

export interface MarkRow {
  part: Part;
  itemId: string;
  itemTitle: string;
  /** Each observer's own rating (scenarios and the reflective conversation; none for the written exercise). */
  observers: ObserverRating[];
  /** The lead observer's agreed rating after the observers' discussion. */
  agreed: { rating: number; rationale: string } | null;
  /** The moderator's decision, where there is one. */
  moderated: { rating: number; rationale: string; byName: string; at: string } | null;
  /** moderated ?? agreed. */
  final: number | null;
  /** Observers' ratings further apart than the disagreement threshold. */
  disagreement: boolean;
}

export interface AuditView {
  id: number;
  at: string;
  /** The acting person in words ("Helen Price (moderator)"); "system" only for the server's own actions. */
  who: string;
  actor: ActingPerson | null;
  action: string;
  detail: Record<string, unknown>;
}

export interface ReviewView {
  id: string;
  /** The independent reviewer, who alone records the decision (null: a review recorded before
   *  reviewers had to be named moderators; only `reviewerName` was typed then). */
  reviewer: ActingPerson | null;
  reviewerName: string;
  reasons: string;
  openedBy: ActingPerson | null;
  openedByName: string;
  openedAt: string;
  decision: { outcome: Partial<Record<Element, Outcome>>; reasons: string; byName: string; at: string } | null;
}

export interface ModerationView {
  sessionId: string;
  title: string;
  level: Level;
  candidateName: string;
  candidateRef: string | null;
  scheduledStart: number | null;
  templateName: string;
  dayComplete: boolean;
  /** The day was stopped early: nothing of it is marked. */
  dayStopped: boolean;
  status: ModerationStatus;
  /** Marks can change now: before sign-off, or while an independent review is open. */
  editable: boolean;
  /** Why marks cannot change, in words for the moderator. */
  lockedReason: string | null;
  /** The 1–4 scale of the domains and the written exercise. */
  scale: RatingLevel[];
  /** The reflective conversation's own 1–4 scale. */
  reflectionScale: RatingLevel[];
  rows: MarkRow[];
  /** Observers' 1–7 global judgements per scenario. */
  globals: Array<{ scenario: number; observerName: string; value: number }>;
  feedback: { strengths: string; development: string };
  notes: EvidenceNoteView[];
  /** Scenario keys with recordings (for links to the playback page). */
  recordedParts: string[];
  written: { text: string; frozenAt: number; sha256: string } | null;
  results: ElementResult[];
  /** The locked outcome, once signed off (after a review: the review's outcome). */
  signedOff: { byName: string; at: string; outcome: Partial<Record<Element, Outcome>> } | null;
  reviews: ReviewView[];
  /** Who may be named as independent reviewer of this signed-off result (empty otherwise). */
  eligibleReviewers: ReviewerOption[];
  audit: AuditView[];
  sampled: { selected: boolean; reason: string };
  employer: { name: string; consent: boolean } | null;
  retake: { of: string; element: Element } | null;
}

/** A moderator who could review this result: not its signer-off, not one of its observers,
 *  not a moderator who changed its marks, not the person asking. */
export interface ReviewerOption {
  participantId: string;
  name: string;
  /** The session whose invite this participant record came with (people hold one invite per session). */
  invitedFor: string;
}
export type ChangeMark = z.infer<typeof ChangeMarkSchema>;
export type SignOff = z.infer<typeof SignOffSchema>;
export type OpenReview = z.infer<typeof OpenReviewSchema>;
export type DecideReview = z.infer<typeof DecideReviewSchema>;

// ---- what a candidate sees ----

export interface CandidateResult {
  status: 'pending' | 'available' | 'underReview';
  /** Outcome per element, once signed off (never scores). */
  outcome: Partial<Record<Element, Outcome>> | null;
  reportPath: string | null;
}

/** Paths of the report downloads (the participantId query names who asks). */
export function candidateReportPath(sessionId: string, participantId: string): string {
  return `/api/results/${encodeURIComponent(sessionId)}/report.pdf?participantId=${encodeURIComponent(participantId)}`;
}
export function employerSummaryPath(sessionId: string, participantId: string): string {
  return `/api/results/${encodeURIComponent(sessionId)}/employer-summary.pdf?participantId=${encodeURIComponent(participantId)}`;
}
export function resultsCsvPath(participantId: string, from?: string, to?: string): string {
  const q = new URLSearchParams({ participantId, ...(from ? { from } : {}), ...(to ? { to } : {}) });
  return `/api/results.csv?${q.toString()}`;
}

export function moderationPath(participantId: string): string {
  return `/moderation/${encodeURIComponent(participantId)}`;
}
