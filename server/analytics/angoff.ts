// Modified Angoff standard setting: each judge estimates, per item, the borderline candidate's
// chance of success (0–1) or expected score. An item's cut is the mean of the judges' estimates;
// the test's cut is the mean over judges of each judge's sum, with the SD (n − 1) of those sums
// showing how far the judges agree (Angoff 1971, in Thorndike, Educational Measurement).
import type { AngoffItem, AngoffResult } from '../../shared/analytics.ts';
import type { Analysis, OptionValues } from './analysis.ts';
import { AnalysisInputError, labelCell, numberCell, type CsvRow } from './input.ts';

export interface AngoffEstimate {
  /** Who judged: estimates are grouped by it. */
  judge: string;
  /** How the judge is named in messages (default: `judge`). */
  judgeName?: string;
  item: string;
  estimate: number;
  /** The CSV line, so a duplicate can be named. */
  line?: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Sample standard deviation (n − 1). */
function sd(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

const MIN_JUDGES = 2;

export function angoff(estimates: readonly AngoffEstimate[]): AngoffResult {
  const byJudge = new Map<string, Map<string, number>>();
  const names = new Map<string, string>();
  const items: string[] = [];
  for (const e of estimates) {
    names.set(e.judge, e.judgeName ?? e.judge);
    const own = byJudge.get(e.judge) ?? new Map<string, number>();
    if (own.has(e.item)) {
      throw new AnalysisInputError(`judge "${names.get(e.judge)}" has a second estimate for item "${e.item}": one row per judge and item`, e.line !== undefined ? { line: e.line, column: 'item' } : { column: 'item' });
    }
    own.set(e.item, e.estimate);
    byJudge.set(e.judge, own);
    if (!items.includes(e.item)) items.push(e.item);
  }
  const judges = [...byJudge.keys()];
  if (judges.length < MIN_JUDGES) throw new AnalysisInputError(`needs estimates from at least ${MIN_JUDGES} judges (found 1: "${names.get(judges[0]!)}")`, { column: 'judge' });
  for (const [judge, own] of byJudge) {
    const missing = items.filter((item) => !own.has(item));
    if (missing.length > 0) {
      throw new AnalysisInputError(`judge "${names.get(judge)}" has no estimate for item${missing.length === 1 ? '' : 's'} ${missing.map((i) => `"${i}"`).join(', ')}: every judge must estimate every item`, { column: 'item' });
    }
  }

  const perItem: AngoffItem[] = items.map((item) => {
    const values = judges.map((judge) => byJudge.get(judge)!.get(item)!);
    return { item, cut: mean(values), sd: sd(values), judges: judges.length };
  });
  const sums = judges.map((judge) => items.reduce((s, item) => s + byJudge.get(judge)!.get(item)!, 0));
  return { items: perItem, cut: mean(sums), sd: sd(sums), judges: judges.length };
}

export const ANGOFF: Analysis<AngoffResult> = {
  name: 'angoff',
  summary: "Modified Angoff: per item the judges' mean estimate and SD; the cut as the mean over judges of each judge's sum, with the judges' SD.",
  columns: ['judge', 'item', 'estimate'],
  options: {},
  run(rows: CsvRow[], _options: OptionValues): AngoffResult {
    return angoff(
      rows.map((row) => ({
        judge: labelCell(row, 'judge'),
        item: labelCell(row, 'item'),
        // A probability (0–1) or an expected score: never negative.
        estimate: numberCell(row, 'estimate', { min: 0 }),
        line: row.line,
      })),
    );
  },
};
