// The assessment day: templates (versioned data), phases, the day's state as every client
// sees it, and the lead observer's controls. The server runs the day; clients only display.
// The schemas the server checks requests with are in assessment-schemas.ts.
import type { z } from 'zod';
import type { PhaseKindSchema, PhaseSpecSchema, TemplateSchema, AdjustmentsSchema, DayControlSchema, ContentKindSchema, BookSessionSchema } from './assessment-schemas.ts';
import { DEFAULT_RESULT_RULES, type Element, type ResultRules } from './moderation.ts';

export const PHASE_KINDS = ['briefing', 'scenario', 'writtenExercise', 'reflectiveConversation', 'break'] as const;
export type PhaseKind = z.infer<typeof PhaseKindSchema>;

export const PHASE_LABELS: Record<PhaseKind, string> = {
  briefing: 'Briefing and preparation',
  scenario: 'Scenario',
  writtenExercise: 'Written exercise',
  reflectiveConversation: 'Reflective conversation',
  break: 'Rest break',
};
export type PhaseSpec = z.infer<typeof PhaseSpecSchema>;
export type Template = z.infer<typeof TemplateSchema>;

/** The rules a template's phases must follow, in words a coordinator can act on. */
export function templateProblems(t: { scenarioCount: number; phases: PhaseSpec[] }): string[] {
  const problems: string[] = [];
  let lastScenario = 0;
  let briefed = 0;
  t.phases.forEach((phase, i) => {
    const where = `phase ${i + 1} (${phase.kind})`;
    const needsScenario = phase.kind === 'briefing' || phase.kind === 'scenario';
    if (needsScenario && phase.scenario === undefined) problems.push(`${where} must name its scenario`);
    if (!needsScenario && phase.scenario !== undefined) problems.push(`${where} must not name a scenario`);
    if (phase.scenario !== undefined && phase.scenario > t.scenarioCount) {
      problems.push(`${where} names scenario ${phase.scenario} but the template has ${t.scenarioCount}`);
    }
    if (phase.kind === 'briefing') {
      if (phase.scenario !== lastScenario + 1) problems.push(`${where} must brief scenario ${lastScenario + 1} next`);
      briefed = phase.scenario ?? briefed;
    }
    if (phase.kind === 'scenario') {
      if (phase.scenario !== lastScenario + 1) problems.push(`${where} must be scenario ${lastScenario + 1}, in order`);
      if (briefed !== phase.scenario) problems.push(`${where} needs its briefing first`);
      lastScenario = phase.scenario ?? lastScenario;
    }
    if (phase.kind === 'writtenExercise' && lastScenario === 0) problems.push(`${where} must follow a scenario`);
    if (phase.kind === 'reflectiveConversation' && lastScenario !== t.scenarioCount) {
      problems.push(`${where} must follow the last scenario`);
    }
  });
  if (lastScenario !== t.scenarioCount) problems.push(`the template must run all ${t.scenarioCount} scenarios`);
  return problems;
}
export type Adjustments = z.infer<typeof AdjustmentsSchema>;
export const NO_ADJUSTMENTS: Adjustments = { extraTimePercent: 0, restBreakMinutes: 0, notes: '' };

/** The phases a session actually runs: the template with the candidate's adjustments applied. */
export function plannedPhases(template: Template, adjustments: Adjustments, retakeOf: Element | null = null): PhaseSpec[] {
  const phases: PhaseSpec[] = [];
  template.phases.forEach((phase, i) => {
    if (!retakePhase(phase.kind, retakeOf)) return;
    if (adjustments.restBreakMinutes > 0 && phase.kind === 'briefing' && i > 0) {
      phases.push({ kind: 'break', durationSeconds: adjustments.restBreakMinutes * 60, timer: 'hard' });
    }
    const stretched = phase.kind === 'briefing' || phase.kind === 'writtenExercise';
    phases.push({
      ...phase,
      durationSeconds: stretched
        ? Math.round((phase.durationSeconds * (100 + adjustments.extraTimePercent)) / 100)
        : phase.durationSeconds,
    });
  });
  return phases;
}

/** A retake runs only what its element needs: the observation drops the written exercise;
 *  the written exercise keeps the briefings (the case material) and drops the scenarios and
 *  the reflective conversation. */
function retakePhase(kind: PhaseKind, retakeOf: Element | null): boolean {
  if (retakeOf === 'observation') return kind !== 'writtenExercise';
  if (retakeOf === 'written') return kind !== 'scenario' && kind !== 'reflectiveConversation';
  return true;
}

/** The elements a session of this template assesses (a retake: only the one retaken). */
export function assessedElements(template: Pick<Template, 'practice' | 'phases'>, retakeOf: Element | null = null): Element[] {
  if (template.practice) return [];
  if (retakeOf) return [retakeOf];
  return template.phases.some((p) => p.kind === 'writtenExercise') ? ['observation', 'written'] : ['observation'];
}

export function resultRules(template: Pick<Template, 'results'>): ResultRules {
  return template.results ?? DEFAULT_RESULT_RULES;
}

/** `stopped`: ended early by the lead observer or a coordinator (the candidate unwell, a
 *  failure that cannot be mended on the day): nothing of it is marked; the candidate can be
 *  booked again. */
export const DAY_STATUSES = ['waiting', 'running', 'paused', 'complete', 'stopped'] as const;
export type DayStatus = (typeof DAY_STATUSES)[number];

/** Whether the day is over, by finishing or by being stopped early. */
export function dayOver(status: DayStatus | undefined | null): boolean {
  return status === 'complete' || status === 'stopped';
}

/** What every participant's client receives; times are server epoch milliseconds. */
export interface DayState {
  sessionId: string;
  status: DayStatus;
  scheduledStart: number | null;
  phases: PhaseSpec[];
  /** Index into phases; -1 while waiting, phases.length when complete; when stopped, the phase it stopped in. */
  phaseIndex: number;
  phaseStartedAt: number | null;
  /** When the current phase ends (hard) or is due to end (soft). Moves on pause and extend. */
  deadline: number | null;
  /** While paused: the moment the pause began (the countdown is frozen there). When stopped:
   *  the moment the day's clock stopped for good (the stop, or the pause before it). */
  pausedAt: number | null;
  /** Server clock when this state was sent. */
  serverNow: number;
}

/** Milliseconds left in the current phase at server time `now` (negative: a soft phase running over). */
export function timeLeftMs(state: Pick<DayState, 'status' | 'deadline' | 'pausedAt'>, now: number): number | null {
  if (state.deadline === null) return null;
  if (state.status === 'paused' && state.pausedAt !== null) return state.deadline - state.pausedAt;
  return state.deadline - now;
}
export type DayControl = z.infer<typeof DayControlSchema>;

// ---- content each role may read, and booking a session ----

export const CONTENT_KINDS = ['candidateBriefing', 'actorBrief', 'observerGuidance', 'writtenExercisePrompt'] as const;
export type ContentKind = z.infer<typeof ContentKindSchema>;

/** "Grace Okafor, mother of Daniel (8) and Tobi (15)" → "Grace Okafor". */
export function characterNameOf(character: string): string {
  return character.split(',')[0]!.trim();
}

/** One scenario of a session, as far as the asking participant may know it. */
export interface ScenarioOverview {
  number: number;
  /** Hidden from the candidate until that scenario's briefing has begun. */
  title: string | null;
  /** The character the actor plays: for observers and that scenario's actor. */
  character: string | null;
  /** Just the character's name ("Grace Okafor"): also for the candidate once the briefing is open,
   *  so that the actor's tile shows the person the candidate is meeting. */
  characterName: string | null;
  /** Who plays it: for observers and coordinators only. */
  actorParticipantId: string | null;
  /** What this participant may open now. */
  available: ContentKind[];
}

export interface SessionOverview {
  sessionId: string;
  title: string;
  templateName: string | null;
  practice: boolean;
  /** The domains observers rate in this session (from its template, or the framework's defaults). */
  scoredDomains: string[];
  scenarios: ScenarioOverview[];
}
export type BookSession = z.infer<typeof BookSessionSchema>;

/** A booking may start this long ago at most (a coordinator booking "now" takes a minute or
 *  two to fill in the form); anything earlier is a mistake, refused by client and server. */
export const BOOKING_PAST_TOLERANCE_MS = 5 * 60_000;

export function startsInThePast(scheduledStart: string, now: number): boolean {
  const at = Date.parse(scheduledStart);
  return Number.isFinite(at) && at < now - BOOKING_PAST_TOLERANCE_MS;
}
