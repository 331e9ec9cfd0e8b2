// The pre-join check's schemas: what the server checks of a page's report. The steps and
// their wording are in prejoin.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';
import { PROBE_PATHS, PREJOIN_STEPS, BROWSER_FEATURES } from './prejoin.ts';

export const ProbePathSchema = z.enum(PROBE_PATHS);
export const PrejoinStepSchema = z.enum(PREJOIN_STEPS);

export const StepOutcomeSchema = z.enum(['passed', 'failed']);
export const BrowserFeatureSchema = z.enum(BROWSER_FEATURES);

export const ProbeStartSchema = z.strictObject({ path: ProbePathSchema });
export const ProbeIdSchema = z.string().regex(/^[0-9a-f-]{36}$/);

export const PrejoinResultSchema = z.strictObject({
  /** The probe (server-side transport) the connection step used; required when it passed. */
  probeId: ProbeIdSchema.nullable(),
  steps: z.strictObject({
    browser: StepOutcomeSchema,
    camera: StepOutcomeSchema,
    microphone: StepOutcomeSchema,
    speakers: StepOutcomeSchema,
    connection: StepOutcomeSchema,
  }),
  browser: z.strictObject({
    name: z.string().trim().min(1).max(40),
    version: z.string().trim().max(20),
    missing: z.array(BrowserFeatureSchema).max(BROWSER_FEATURES.length),
  }),
  connection: z.strictObject({
    path: ProbePathSchema.nullable(),
    tried: z
      .array(z.strictObject({ path: ProbePathSchema, outcome: z.enum(['connected', 'failed', 'not-offered']) }))
      .max(PROBE_PATHS.length),
    rttMs: z.number().int().min(0).max(60_000).nullable(),
    uploadKbps: z.number().int().min(0).max(1_000_000).nullable(),
  }),
});
