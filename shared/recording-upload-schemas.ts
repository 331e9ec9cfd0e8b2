// The backup-recording upload's schemas: what the server checks of an upload, and what a page
// reads of a refusal (loaded only then). The protocol is described in recording-upload.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';
import { FALLBACK_REFUSALS } from './recording-upload.ts';

export const FallbackUploadQuerySchema = z.object({
  phaseIndex: z.coerce.number().int().min(0).max(100),
  seq: z.coerce.number().int().min(0).max(1_000_000),
});

export const FallbackUploadHeadersSchema = z.object({
  'x-fallback-run': z.coerce.number().int().min(1).max(1000),
  'x-fallback-started-at': z.coerce.number().int().min(0),
  'content-length': z.coerce.number().int().min(0).optional(),
});

export const FallbackUploadErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    reason: z.enum(FALLBACK_REFUSALS),
    expectedSeq: z.number().int().min(0).optional(),
  }),
});
