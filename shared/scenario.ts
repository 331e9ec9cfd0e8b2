// The scenario bank's data model. Markdown fields are rendered safely on the client
// (no raw HTML, no scripts).
import { z } from 'zod';
import { LevelSchema } from './domain.ts';

const Markdown = z.string().trim().min(1).max(20_000);

export const ScenarioSchema = z.strictObject({
  /** Stable id, e.g. "pr-okafor-1". */
  id: z.string().regex(/^[a-z0-9-]{3,64}$/),
  level: LevelSchema,
  /** Practitioner scenarios of one family share a case family and run in order 1..3. */
  caseFamily: z.string().regex(/^[a-z0-9-]{3,64}$/).nullable(),
  order: z.number().int().min(1).max(3).nullable(),
  title: z.string().trim().min(1).max(200),
  /** Which character the actor plays, as shown to observers and in the actor's brief. */
  character: z.string().trim().min(1).max(200),
  /** What the candidate reads before the scenario (case background, who they will meet). */
  candidateBriefing: Markdown,
  /** The actor's private character brief: background, emotional state, what to reveal and when. */
  actorBrief: Markdown,
  /** For observers: what good practice looks like here, linked to the rubric domains. */
  observerGuidance: Markdown,
  /** The written exercise prompt that follows this scenario, where one does. */
  writtenExercisePrompt: Markdown.nullable(),
  /** Supervision scenarios: the actor plays a practitioner being supervised. */
  supervision: z.boolean(),
  tags: z.array(z.string().trim().min(1).max(40)).max(20),
});
export type Scenario = z.infer<typeof ScenarioSchema>;

export const ScenarioBankSchema = z.array(ScenarioSchema);
