// The assessment day's schemas (templates, bookings, the lead observer's controls): what the
// server checks at its boundary. The types, labels and rules they check are in assessment.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';
import { PHASE_KINDS, templateProblems, CONTENT_KINDS } from './assessment.ts';
import { LevelSchema, PersonIdSchema } from './domain.ts';
import { ElementSchema, ResultRulesSchema } from './moderation-schemas.ts';
import { frameworkFor } from './rubric.ts';

export const PhaseKindSchema = z.enum(PHASE_KINDS);

export const PhaseSpecSchema = z.strictObject({
  kind: PhaseKindSchema,
  /** Which scenario (1-based) a briefing or scenario phase is about. */
  scenario: z.number().int().min(1).max(3).optional(),
  durationSeconds: z.number().int().min(1).max(4 * 3600),
  /** hard: advances by itself at the deadline; soft: runs over until the lead observer advances. */
  timer: z.enum(['hard', 'soft']),
});

export const TemplateSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9-]{3,64}$/),
    version: z.number().int().min(1),
    name: z.string().trim().min(1).max(200),
    level: LevelSchema,
    /** Practice mode: a short unscored rehearsal of the technology. */
    practice: z.boolean(),
    scenarioCount: z.number().int().min(1).max(3),
    phases: z.array(PhaseSpecSchema).min(1).max(30),
    /** Which framework domains observers rate (default: the framework's behavioural statements). */
    scoredDomains: z.array(z.string().max(40)).min(1).max(12).optional(),
    /** Pass marks and report settings (default: DEFAULT_RESULT_RULES). */
    results: ResultRulesSchema.optional(),
  })
  .superRefine((t, ctx) => {
    for (const problem of templateProblems(t)) ctx.addIssue({ code: 'custom', message: problem, path: ['phases'] });
    const known = new Set(frameworkFor(t.level).domains.map((d) => d.id));
    for (const id of t.scoredDomains ?? []) {
      if (!known.has(id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a domain of the ${t.level} framework`, path: ['scoredDomains'] });
    }
  });

/** Reasonable adjustments agreed at booking. */
export const AdjustmentsSchema = z.strictObject({
  /** Extra time on reading (briefings) and writing (written exercise), e.g. 25 for +25%. */
  extraTimePercent: z.number().int().min(0).max(200),
  /** A rest break of this many minutes before each briefing after the first (0: none). */
  restBreakMinutes: z.number().int().min(0).max(60),
  notes: z.string().trim().max(2000),
});

export const DayControlSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('start') }),
  /** `fromPhaseIndex` guards against double clicks and stale pages skipping a phase. */
  z.strictObject({ action: z.literal('advance'), fromPhaseIndex: z.number().int().min(-1).max(100) }),
  z.strictObject({ action: z.literal('pause'), reason: z.string().trim().min(1).max(500) }),
  z.strictObject({ action: z.literal('resume') }),
  z.strictObject({
    action: z.literal('extend'),
    seconds: z.number().int().min(1).max(3600),
    reason: z.string().trim().min(1).max(500),
  }),
  /** Ends a started day early, for good; the reason goes to the audit and the session's history. */
  z.strictObject({ action: z.literal('stop'), reason: z.string().trim().min(1).max(500) }),
]);
export const ContentKindSchema = z.enum(CONTENT_KINDS);

/** Someone booked into a session: a person of the organisation (`personId`), or a new person
 *  by name. */
const Person = z.strictObject({ displayName: z.string().trim().min(1).max(120), personId: PersonIdSchema.optional() });

export const BookSessionSchema = z
  .strictObject({
    title: z.string().trim().min(1).max(200),
    templateId: z.string().regex(/^[a-z0-9-]{3,64}$/),
    /** ISO date-time of the planned start. */
    scheduledStart: z.iso.datetime({ offset: true }),
    candidate: Person.extend({
      /** A stable reference for the candidate across sessions (e.g. registration number): retakes avoid scenarios sat before. */
      candidateRef: z.string().trim().min(1).max(120),
    }),
    leadObserver: Person,
    observers: z.array(Person).max(10),
    /** Each scenario number is played by exactly one actor. */
    /** Empty only for a retake of the written exercise, which runs no scenarios. */
    actors: z.array(Person.extend({ scenarios: z.array(z.number().int().min(1).max(3)).min(1).max(3) })).max(3),
    moderator: Person.optional(),
    coordinator: Person,
    /** Reads the cohort's equalities monitoring (in aggregate only); never in the room. */
    analyst: Person.optional(),
    adjustments: AdjustmentsSchema,
    /** The candidate's employer, and whether the candidate consented to it receiving a summary of the result. */
    employer: z.strictObject({ name: z.string().trim().min(1).max(200), consent: z.boolean() }).optional(),
    /** A retake of one element of an earlier, signed-off session; the other element's result carries over. */
    retake: z.strictObject({ of: z.uuid(), element: ElementSchema }).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.actors.length === 0 && b.retake?.element !== 'written') {
      ctx.addIssue({ code: 'custom', path: ['actors'], message: 'at least one actor is needed to play the scenarios' });
    }
    const numbers = b.actors.flatMap((a) => a.scenarios);
    if (new Set(numbers).size !== numbers.length) {
      ctx.addIssue({ code: 'custom', path: ['actors'], message: 'each scenario must have exactly one actor' });
    }
  });
