// The analyses' results (`npm run analyse`, and the studio's panels): the JSON contracts of
// issue 14, defined once. Numbers are full doubles; null where a value is undefined for the data.
import { z } from 'zod';
import { IsoDate } from './moderation-schemas.ts';

export type IccForm = 'ICC1' | 'ICC2' | 'ICC3' | 'ICC1k' | 'ICC2k' | 'ICC3k';
export const ICC_FORMS: readonly IccForm[] = ['ICC1', 'ICC2', 'ICC3', 'ICC1k', 'ICC2k', 'ICC3k'];

export interface RaterPairKappa {
  raters: [string, string];
  /** Candidates both raters scored on the item (complete or not). */
  candidates: number;
  linear: number | null;
  quadratic: number | null;
}

export interface ReliabilityItem {
  item: string;
  /** Complete candidates used (rated by every rater of the item). */
  candidates: number;
  /** Incomplete candidates left out. */
  dropped: number;
  raters: number;
  /** Null where the data leave a form undefined (e.g. every score identical: 0/0). */
  icc: Record<IccForm, number | null>;
  /** Null bounds where the F-ratio behind them is infinite (a residual mean square of 0). */
  ci95: Record<IccForm, [number | null, number | null]>;
  fleissKappa: number | null;
  exactAgreement: number;
  adjacentAgreement: number;
  /** With --pairs: Cohen's weighted κ per rater pair. */
  pairs?: RaterPairKappa[];
}
export interface ReliabilityResult {
  items: ReliabilityItem[];
}

export interface RaterEffect {
  rater: string;
  n: number;
  /** Positive = more lenient than the average rater. */
  effect: number;
  se: number;
  z: number;
  flag: 'hawk' | 'dove' | null;
}
export interface StringencyResult {
  raters: RaterEffect[];
}

export interface StationCut {
  station: string;
  n: number;
  intercept: number;
  slope: number;
  r2: number;
  rmse: number;
  cut: number;
}
export interface BrmResult {
  stations: StationCut[];
  examCut: number;
  alpha: number;
  sem: number;
}

export interface AngoffItem {
  item: string;
  /** Mean over judges of the judges' estimates for this item. */
  cut: number;
  sd: number;
  judges: number;
}
export interface AngoffResult {
  items: AngoffItem[];
  /** Mean over judges of each judge's sum. */
  cut: number;
  /** SD (n − 1) over judges of the judges' sums. */
  sd: number;
  judges: number;
}

export interface DifItem {
  item: string;
  alphaMH: number;
  deltaMH: number;
  se: number;
  class: 'A' | 'B' | 'C';
  strata: number;
}
export interface DifResult {
  items: DifItem[];
}

/** A group under 10 candidates is only named (suppressed): no numbers at all. `ratio` is the
 * rate ÷ the highest shown group's rate, null when no shown group has a pass. */
export type SubgroupRow =
  | { group: string; n: number; passed: number; rate: number; ci95: [number, number]; ratio: number | null; suppressed: false }
  | { group: string; suppressed: true };
export interface SubgroupCharacteristic {
  characteristic: string;
  groups: SubgroupRow[];
  /** Fisher's exact test of pass × group over the groups shown (null with fewer than two); it
   * follows `groups` in the JSON. */
  fisherP: number | null;
}
export interface SubgroupsResult {
  characteristics: SubgroupCharacteristic[];
}

// ---- the studio's cohort analytics (GET /api/analytics/cohort) ----


export const AnalyticsFilterSchema = z.strictObject({
  participantId: z.string().min(1).max(64),
  /** First and last day (inclusive, UTC) of the sessions' planned start. */
  from: IsoDate.optional(),
  to: IsoDate.optional(),
});
export type AnalyticsFilter = z.infer<typeof AnalyticsFilterSchema>;

export const ANALYTICS_TABLES = ['reliability', 'stringency', 'actors', 'brm'] as const;
export const AnalyticsTableQuerySchema = AnalyticsFilterSchema.extend({ table: z.enum(ANALYTICS_TABLES) });

/** A panel's analysis, or why there is not enough data for it (never NaN on the page). */
export type AnalyticsPanel<T> = { ok: true; result: T } | { ok: false; reason: string };

export interface CohortReliability {
  /** The ICC form shown: observers differ from candidate to candidate, so one-way random. */
  form: IccForm;
  items: Array<ReliabilityItem & { title: string }>;
}

export interface BrmPoint {
  station: string;
  score: number;
  global: number;
}
export interface CohortBrm extends BrmResult {
  borderline: number;
  stationTitles: Record<string, string>;
  points: BrmPoint[];
}

export interface CohortAnalytics {
  from: string | null;
  to: string | null;
  /** Completed, scored sessions in the range, and the independent ratings they hold. */
  sessions: number;
  ratings: number;
  reliability: AnalyticsPanel<CohortReliability>;
  /** Observers' effects on their ratings (positive = lenient). */
  stringency: AnalyticsPanel<StringencyResult>;
  /** Actors' effects on the ratings of the scenarios they played. */
  actors: AnalyticsPanel<StringencyResult>;
  brm: AnalyticsPanel<CohortBrm>;
}

/** What an observer sees of the stringency analysis: their own position only. */
export interface OwnStringency {
  rater: string;
  effect: RaterEffect | null;
  raters: number;
  reason: string | null;
}

/** The analytics page of one signed-in participant. */
export function analyticsPath(participantId: string): string {
  return `/analytics/${encodeURIComponent(participantId)}`;
}

/** "Adopt this cut": the borderline-regression exam cut of the range, or the judges' Angoff cut,
 *  becomes the observation pass mark of a new version of the template (the server computes the
 *  cut itself). */
export const AdoptCutSchema = z.strictObject({
  templateId: z.string().regex(/^[a-z0-9-]{3,64}$/),
  /** Whose cut: the cohort's borderline regression (over the date range) or the judges' Angoff. */
  method: z.enum(['borderlineRegression', 'angoff']).default('borderlineRegression'),
  from: IsoDate.optional(),
  to: IsoDate.optional(),
});
export type AdoptCut = z.infer<typeof AdoptCutSchema>;

export interface AdoptedCut {
  templateId: string;
  method: 'borderlineRegression' | 'angoff';
  version: number;
  previousPassMark: number;
  observationPassMark: number;
}

// ---- modified Angoff in the studio ----

/** A judge's estimates for a template: per scored domain, the rating (1–4) a borderline
 *  candidate would get. Every domain of the template must be estimated. */
export const AngoffEstimatesSchema = z.strictObject({
  templateId: z.string().regex(/^[a-z0-9-]{3,64}$/),
  estimates: z.record(z.string().max(40), z.number().min(1).max(4)),
});
export type AngoffEstimates = z.infer<typeof AngoffEstimatesSchema>;

export const AngoffQuerySchema = z.strictObject({
  participantId: z.string().min(1).max(64),
  templateId: z.string().regex(/^[a-z0-9-]{3,64}$/),
});

export interface AngoffPanelView {
  templateId: string;
  templateName: string;
  templateVersion: number;
  /** The template's scored domains, in order. */
  items: Array<{ itemId: string; title: string }>;
  /** The signed-in judge's own estimates (empty before they save). */
  mine: Record<string, number>;
  /** The judges' panel; the pass mark it implies is the cut divided by the number of items. */
  result: AnalyticsPanel<AngoffResult & { passMark: number }>;
}

/** A scored template, for choosing where a cut applies. */
export interface TemplateChoice {
  id: string;
  name: string;
  version: number;
  observationPassMark: number;
}
