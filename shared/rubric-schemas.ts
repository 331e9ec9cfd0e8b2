// The rubric documents' schemas: what the server (and an observer's page, before writing)
// checks of an evidence note and of an agreed rating. The frameworks are in rubric.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';

export const EvidenceNoteSchema = z.strictObject({
  scenario: z.union([z.number().int().min(1).max(3), z.literal('reflective')]),
  /** Milliseconds since the scenario started (the recording's clock). */
  atMs: z.number().int().min(0),
  domainId: z.string().max(40).nullable(),
  text: z.string().trim().min(1).max(4000),
  createdAt: z.number().int(),
});

export const AgreedRatingSchema = z.strictObject({
  rating: z.number().int().min(1).max(4),
  rationale: z.string().trim().max(4000),
});
