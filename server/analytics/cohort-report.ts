// The studio's cohort analytics: the stored ratings of a cohort (cohort-data.ts) shaped into
// the same analyses `npm run analyse` runs, each panel either a result or the reason there is
// not enough data for it (never NaN on a page).
import type { AnalyticsPanel, BrmPoint, CohortAnalytics, CohortBrm, CohortReliability, OwnStringency, RaterEffect, StringencyResult } from '../../shared/analytics.ts';
import { FRAMEWORKS, REFLECTION_ITEM_ID } from '../../shared/rubric.ts';
import { brm, DEFAULT_BORDERLINE_GLOBAL as DEFAULT_BORDERLINE } from './brm.ts';
import type { CohortData, CohortRating } from './cohort-data.ts';
import { AnalysisInputError } from './input.ts';
import { reliability } from './reliability.ts';
import { stringency } from './stringency.ts';

/** Every scored item's title: "1. Relationships and effective direct work". */
const ITEM_TITLES = new Map<string, string>([
  ...FRAMEWORKS.flatMap((f) => f.domains.map((d) => [d.id, `${d.number}. ${d.title}`] as [string, string])),
  [REFLECTION_ITEM_ID, 'Reflection'],
]);
/** The reliability of a scenario's total over its domains. */
export const TOTAL_ITEM = 'total';

function panel<T>(compute: () => T): AnalyticsPanel<T> {
  try {
    return { ok: true, result: compute() };
  } catch (error) {
    if (error instanceof AnalysisInputError) return { ok: false, reason: error.message };
    throw error;
  }
}

const performance = (r: Pick<CohortRating, 'sessionId' | 'scenario'>): string => `${r.sessionId}|${r.scenario}`;

/** One observer's sheet for one scenario: the ratings it holds, their total and the global judgement. */
interface Sheet {
  sessionId: string;
  scenario: number;
  rater: string;
  raterParticipantId: string;
  lead: boolean;
  actor: string | null;
  ratings: number[];
  total: number;
  global: number | null;
}

function sheets(ratings: readonly CohortRating[]): Sheet[] {
  const byKey = new Map<string, Sheet>();
  for (const r of ratings) {
    if (r.scenario === 'reflective') continue;
    const key = `${r.sessionId}|${r.scenario}|${r.raterParticipantId}`;
    let sheet = byKey.get(key);
    if (!sheet) {
      sheet = { sessionId: r.sessionId, scenario: r.scenario, rater: r.rater, raterParticipantId: r.raterParticipantId, lead: r.lead, actor: r.actor, ratings: [], total: 0, global: r.global };
      byKey.set(key, sheet);
    }
    sheet.ratings.push(r.score);
    sheet.total += r.score;
  }
  return [...byKey.values()];
}

/**
 * Observers differ from one candidate to the next, so the raters of the ICC are the two seats
 * of each performance (the lead observer and the first co-observer): a one-way random model.
 */
function cohortReliability(ratings: readonly CohortRating[]): CohortReliability {
  const coObserver = new Map<string, string>();
  for (const r of ratings) {
    if (r.lead) continue;
    const key = performance(r);
    const first = coObserver.get(key);
    if (first === undefined || r.raterParticipantId < first) coObserver.set(key, r.raterParticipantId);
  }
  const seat = (r: { lead: boolean; raterParticipantId: string; sessionId: string; scenario: number | 'reflective' }): string | null =>
    r.lead ? 'lead observer' : coObserver.get(performance(r)) === r.raterParticipantId ? 'co-observer' : null;
  const rows: Array<{ candidate: string; rater: string; item: string; score: number }> = [];
  for (const r of ratings) {
    const s = seat(r);
    if (s) rows.push({ candidate: performance(r), rater: s, item: r.item, score: r.score });
  }
  // A scenario's total, where the sheet rated every domain the scenario's sheets rated.
  const all = sheets(ratings);
  const domainsOf = new Map<string, number>();
  for (const sheet of all) domainsOf.set(performance(sheet), Math.max(domainsOf.get(performance(sheet)) ?? 0, sheet.ratings.length));
  for (const sheet of all) {
    const s = seat(sheet);
    if (s && sheet.ratings.length === domainsOf.get(performance(sheet))) rows.push({ candidate: performance(sheet), rater: s, item: TOTAL_ITEM, score: sheet.total });
  }
  if (rows.length === 0) throw new AnalysisInputError('no performance has been rated independently by two observers yet');
  const result = reliability(rows, { pairs: false });
  return {
    form: 'ICC1',
    items: result.items.map((item) => ({ ...item, title: item.item === TOTAL_ITEM ? 'All domains (scenario total)' : (ITEM_TITLES.get(item.item) ?? item.item) })),
  };
}

/** A rating outside the cohort's days that still shows an observer's stringency: a calibration
 *  case scored in playback (its candidate is the case). */
export interface ExtraRating {
  candidate: string;
  rater: string;
  score: number;
}

/**
 * Observers' effects: every independent rating, with the candidate as the candidate (observers
 * watch the whole day) — the same rows `npm run analyse -- stringency` takes — and the
 * calibration cases the observers scored, each case a candidate of its own.
 */
function observerStringency(ratings: readonly CohortRating[], calibration: readonly ExtraRating[]): StringencyResult {
  if (ratings.length === 0 && calibration.length === 0) throw new AnalysisInputError('no scenario has been rated yet');
  const rows = [...ratings.map((r) => ({ candidate: r.candidate, rater: r.rater, score: r.score })), ...calibration];
  return stringency(rows, { byScenario: false });
}

/** Actors' effects: every rating of a scenario, with the actor who played it as the "rater". */
function actorEffects(ratings: readonly CohortRating[]): StringencyResult {
  const played = ratings.flatMap((r) => (r.actor === null ? [] : [{ candidate: r.candidate, rater: r.actor, score: r.score }]));
  if (played.length === 0) throw new AnalysisInputError('no rated scenario records who played it');
  return stringency(played, { byScenario: false });
}

/**
 * Borderline regression: each observer's mean domain rating for a scenario against their global
 * judgement. The mean is on the pass mark's own scale (a template's observation pass mark is a
 * mean rating), so the exam cut can be adopted as the pass mark as it stands.
 */
function cohortBrm(ratings: readonly CohortRating[]): CohortBrm {
  const rows = sheets(ratings)
    .filter((s): s is Sheet & { global: number } => s.global !== null)
    .map((s) => ({ candidate: `${s.sessionId}|${s.raterParticipantId}`, station: `scenario-${s.scenario}`, score: s.total / s.ratings.length, global: s.global }));
  if (rows.length === 0) throw new AnalysisInputError('no scenario has both domain ratings and a global judgement yet');
  const result = brm(rows, { borderline: DEFAULT_BORDERLINE, plusSem: 0 });
  const points: BrmPoint[] = rows.map((r) => ({ station: r.station, score: r.score, global: r.global }));
  const stationTitles = Object.fromEntries(result.stations.map((s) => [s.station, `Scenario ${s.station.slice('scenario-'.length)}`]));
  return { ...result, borderline: DEFAULT_BORDERLINE, stationTitles, points };
}

export function cohortAnalytics(data: CohortData, range: { from: string | null; to: string | null }, calibration: readonly ExtraRating[] = []): CohortAnalytics {
  return {
    from: range.from,
    to: range.to,
    sessions: new Set(data.ratings.map((r) => r.sessionId)).size,
    ratings: data.ratings.length,
    reliability: panel(() => cohortReliability(data.ratings)),
    stringency: panel(() => observerStringency(data.ratings, calibration)),
    actors: panel(() => actorEffects(data.ratings)),
    brm: panel(() => cohortBrm(data.ratings)),
  };
}

/** An observer's own position, by name (people accounts: issue 13), and nobody else's. */
export function ownStringency(data: CohortData, rater: string, calibration: readonly ExtraRating[] = []): OwnStringency {
  const result = panel(() => observerStringency(data.ratings, calibration));
  if (!result.ok) return { rater, effect: null, raters: 0, reason: result.reason };
  const effect: RaterEffect | undefined = result.result.raters.find((r) => r.rater === rater);
  return {
    rater,
    effect: effect ?? null,
    raters: result.result.raters.length,
    reason: effect ? null : 'none of your independent ratings is in a completed session yet',
  };
}
