// The analyses' results (`npm run analyse`, and the studio's panels): the JSON contracts of
// issue 14, defined once. Numbers are full doubles; null where a value is undefined for the data.

export type IccForm = 'ICC1' | 'ICC2' | 'ICC3' | 'ICC1k' | 'ICC2k' | 'ICC3k';
export const ICC_FORMS: readonly IccForm[] = ['ICC1', 'ICC2', 'ICC3', 'ICC1k', 'ICC2k', 'ICC3k'];

export interface RaterPairKappa {
  raters: [string, string];
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
  icc: Record<IccForm, number>;
  ci95: Record<IccForm, [number, number]>;
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
