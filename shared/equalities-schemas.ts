// The equalities questionnaire's schemas: what the server checks of a submission and of an
// analyst's queries. The questions themselves are in equalities.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';
import { PREFER_NOT_TO_SAY, AGE_BANDS, SEXES, ETHNICITIES, YES_NO } from './equalities.ts';
import { IsoDate } from './moderation-schemas.ts';

const prefer = z.literal(PREFER_NOT_TO_SAY);

export const EqualitiesAnswersSchema = z.strictObject({
  ageBand: z.union([z.enum(AGE_BANDS), prefer]),
  sex: z.union([z.enum(SEXES), prefer]),
  ethnicity: z.union([z.enum(ETHNICITIES), prefer]),
  /** The Equality Act 2010 definition (see DISABILITY_QUESTION). */
  disability: z.union([z.enum(YES_NO), prefer]),
  firstLanguageEnglish: z.union([z.enum(YES_NO), prefer]),
});

/** PUT /api/equalities/mine: answer (once), or decline (once). */
export const EqualitiesSubmissionSchema = z.discriminatedUnion('decision', [
  z.strictObject({ decision: z.literal('answer'), answers: EqualitiesAnswersSchema }),
  z.strictObject({ decision: z.literal('decline') }),
]);

export const EqualitiesQuerySchema = z.strictObject({
  participantId: z.string().min(1).max(64),
  /** First and last day (inclusive, UTC) of the sessions' planned start. */
  from: IsoDate.optional(),
  to: IsoDate.optional(),
});
export const EqualitiesTableQuerySchema = EqualitiesQuerySchema.extend({ table: z.enum(['outcomes', 'dif']) });
