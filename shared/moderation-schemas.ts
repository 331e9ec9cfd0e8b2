// Moderation's schemas: what the server checks of the moderators' requests (marks, sign-off,
// reviews, the queue's filters). The types and rules are in moderation.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';
import { ELEMENTS, MODERATION_STATUSES } from './moderation.ts';

export const ElementSchema = z.enum(ELEMENTS);

/** Where a mark belongs: a scenario (1–3), the reflective conversation, or the written exercise. */
export const PartSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal('reflective'), z.literal('written')]);

// ---- the template's result rules ----

export const ResultRulesSchema = z.strictObject({
  /** The mean final rating (1–4 scale) the simulated observation needs to pass. */
  observationPassMark: z.number().min(1).max(4),
  /** The mean final rating (1–4 scale) the written exercise needs to pass. */
  writtenPassMark: z.number().min(1).max(4),
  /** A result closer than this to the pass mark (either side) is borderline, and sampled for moderation. */
  borderlineMargin: z.number().min(0).max(1.5),
  /** Whether the candidate's report names the lead observer and the moderator. */
  reportNamesAssessors: z.boolean(),
});
export const OutcomeSchema = z.enum(['pass', 'fail']);
export const ModerationStatusSchema = z.enum(MODERATION_STATUSES);

export const SamplingRuleSchema = z.strictObject({
  includeFails: z.boolean(),
  includeBorderline: z.boolean(),
  /** Percentage of the remaining (clear) passes sampled, chosen by a stable hash of the session id. */
  passPercent: z.number().int().min(0).max(100),
});

export const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD');
export const QueueFilterSchema = z.strictObject({
  participantId: z.string().min(1).max(64),
  /** First and last day (inclusive, UTC) of the planned start. */
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  status: ModerationStatusSchema.optional(),
  sampledOnly: z.enum(['true', 'false']).optional(),
});

// ---- requests ----

export const ChangeMarkSchema = z.strictObject({
  part: PartSchema,
  itemId: z.string().min(1).max(40),
  rating: z.number().int().min(1).max(4),
  rationale: z
    .string()
    .trim()
    .min(10, 'a rationale is required: say why, in at least 10 characters')
    .max(4000),
  /** The final mark the moderator saw (null: none). A different stored mark means someone changed it meanwhile. */
  expected: z.number().int().min(1).max(4).nullable(),
});

export const SignOffSchema = z.strictObject({
  /** The outcome the moderator saw and confirms: refused when the marks have moved since. */
  outcome: z.partialRecord(ElementSchema, OutcomeSchema),
});

/** The reviewer is chosen from the eligible people (a participant record), never typed in:
 *  only that person, signed in as themselves, can then record the decision. */
export const OpenReviewSchema = z.strictObject({
  reviewerParticipantId: z.uuid('choose the independent reviewer from the list'),
  reasons: z.string().trim().min(10, 'give the reasons for the review (at least 10 characters)').max(4000),
});

export const DecideReviewSchema = z.strictObject({
  outcome: z.partialRecord(ElementSchema, OutcomeSchema),
  reasons: z.string().trim().min(10, "give the reviewer's reasons (at least 10 characters)").max(4000),
});
