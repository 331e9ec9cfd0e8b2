// What an observer scores in one part of the day: a scenario's scored domains on the 1–4
// scale plus the 1–7 global judgement, or, for the reflective conversation, one
// "Reflection" item on the reflection scale (no global judgement).
import type { Framework, RatingLevel, ScenarioKey } from '../../shared/rubric.ts';

export interface ScoringItem {
  id: string;
  number: number;
  title: string;
}

export interface ScoringSheet {
  items: ScoringItem[];
  /** The 1–4 scale the items are rated on. */
  scale: RatingLevel[];
  /** The 1–7 global judgement; null where there is none (reflective conversation). */
  globalScale: RatingLevel[] | null;
}

/** The reflective conversation's single item. Stored under the ordinary rating key
 *  `<observer>|reflective|reflection` (the server checks ownership and the 1–4 range only). */
export const REFLECTION_ITEM: ScoringItem = { id: 'reflection', number: 1, title: 'Reflection' };

/** `domains`: the template's scored domains, when it names them; else the framework's defaults. */
export function scoringSheet(framework: Framework, scenario: ScenarioKey, domains: string[] | null = null): ScoringSheet {
  if (scenario === 'reflective') return { items: [REFLECTION_ITEM], scale: framework.reflectionScale, globalScale: null };
  const items = (domains ?? framework.defaultScoredDomains)
    .map((id) => framework.domains.find((d) => d.id === id))
    .filter((d): d is ScoringItem => d !== undefined);
  return { items, scale: framework.scale, globalScale: framework.globalScale };
}

export function scenarioLabel(scenario: ScenarioKey | 'overall'): string {
  if (scenario === 'reflective') return 'Reflective conversation';
  if (scenario === 'overall') return 'Overall';
  return `Scenario ${scenario}`;
}

/** Whether `value` is a scenario key the rubric document accepts (1–3 or "reflective"). */
export function isScenarioKey(value: unknown): value is ScenarioKey {
  return value === 'reflective' || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 3);
}

/** A stable, readable colour per participant (awareness; dark enough for white text). */
const PALETTE = ['#1a56a8', '#1e6b34', '#8a3b8f', '#a1221a', '#7a4b00', '#0f6b6b', '#4b4fa8', '#6b5a00'];
export function colorFor(participantId: string): string {
  let h = 0;
  for (const ch of participantId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}
