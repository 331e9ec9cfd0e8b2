// `reliability FILE` (candidate,rater,item,score): per item, how far its raters agree — the six
// Shrout & Fleiss ICCs with psych::ICC's intervals, Fleiss' κ and the exact/adjacent agreement
// on the candidates every rater of the item scored; with --pairs, Cohen's weighted κ per pair.
import type { RaterPairKappa, ReliabilityItem, ReliabilityResult } from '../../shared/analytics.ts';
import { fleissKappa, pairAgreement, weightedKappa } from './agreement.ts';
import type { Analysis } from './analysis.ts';
import { intraclassCorrelations } from './icc.ts';
import { AnalysisInputError, labelCell, numberCell } from './input.ts';

export interface Rating {
  candidate: string;
  rater: string;
  item: string;
  score: number;
  /** Where the rating came from (a CSV line), so that a refusal can point at it. */
  line?: number;
}

export interface ReliabilityOptions {
  /** Add Cohen's weighted κ for every pair of the item's raters. */
  pairs?: boolean;
}

interface ItemRatings {
  item: string;
  firstLine: number | undefined;
  /** Raters in order of first appearance. */
  raters: string[];
  /** candidate → rater → score, candidates in order of first appearance. */
  scores: Map<string, Map<string, number>>;
  lines: Map<string, number | undefined>;
}

const where = (line: number | undefined, column: string) => (line === undefined ? { column } : { line, column });

/** Groups ratings by item (in order of first appearance), refusing a rater who scored a candidate twice on one item. */
function groupByItem(ratings: readonly Rating[]): ItemRatings[] {
  const items = new Map<string, ItemRatings>();
  for (const rating of ratings) {
    let item = items.get(rating.item);
    if (!item) {
      item = { item: rating.item, firstLine: rating.line, raters: [], scores: new Map(), lines: new Map() };
      items.set(rating.item, item);
    }
    if (!item.raters.includes(rating.rater)) item.raters.push(rating.rater);
    let byRater = item.scores.get(rating.candidate);
    if (!byRater) {
      byRater = new Map();
      item.scores.set(rating.candidate, byRater);
    }
    const key = `${rating.candidate}\u0000${rating.rater}`;
    if (byRater.has(rating.rater)) {
      const first = item.lines.get(key);
      throw new AnalysisInputError(
        `rater "${rating.rater}" scored candidate "${rating.candidate}" on item "${rating.item}" twice${first === undefined ? '' : ` (first at row ${first})`}; keep one score per candidate, rater and item`,
        where(rating.line, 'rater'),
      );
    }
    byRater.set(rating.rater, rating.score);
    item.lines.set(key, rating.line);
  }
  return [...items.values()];
}

function pairKappas(item: ItemRatings): RaterPairKappa[] {
  const result: RaterPairKappa[] = [];
  for (let i = 0; i < item.raters.length; i++) {
    for (let j = i + 1; j < item.raters.length; j++) {
      const first = item.raters[i]!;
      const second = item.raters[j]!;
      const shared: Array<[number, number]> = [];
      for (const byRater of item.scores.values()) {
        const a = byRater.get(first);
        const b = byRater.get(second);
        if (a !== undefined && b !== undefined) shared.push([a, b]);
      }
      result.push({ raters: [first, second], candidates: shared.length, linear: weightedKappa(shared, 'linear'), quadratic: weightedKappa(shared, 'quadratic') });
    }
  }
  return result;
}

function analyseItem(item: ItemRatings, options: ReliabilityOptions): ReliabilityItem {
  const k = item.raters.length;
  if (k < 2) {
    throw new AnalysisInputError(`item "${item.item}" has a single rater ("${item.raters[0]}"); reliability needs at least 2 raters per item`, where(item.firstLine, 'rater'));
  }
  // Only candidates every rater of the item scored: the ANOVA behind the ICCs needs a complete table.
  const complete: number[][] = [];
  for (const byRater of item.scores.values()) {
    if (byRater.size === k) complete.push(item.raters.map((rater) => byRater.get(rater)!));
  }
  if (complete.length < 2) {
    throw new AnalysisInputError(
      `item "${item.item}" has ${complete.length} candidate${complete.length === 1 ? '' : 's'} scored by all ${k} of its raters; reliability needs at least 2`,
      where(item.firstLine, 'candidate'),
    );
  }
  const { icc, ci95 } = intraclassCorrelations(complete);
  const agreement = pairAgreement(complete);
  const result: ReliabilityItem = {
    item: item.item,
    candidates: complete.length,
    dropped: item.scores.size - complete.length,
    raters: k,
    icc,
    ci95,
    fleissKappa: fleissKappa(complete),
    exactAgreement: agreement.exact,
    adjacentAgreement: agreement.adjacent,
  };
  if (options.pairs) result.pairs = pairKappas(item);
  return result;
}

/** The core, for the CLI and the studio alike. Throws AnalysisInputError for data it cannot analyse. */
export function reliability(ratings: readonly Rating[], options: ReliabilityOptions = {}): ReliabilityResult {
  if (ratings.length === 0) throw new AnalysisInputError('there are no ratings; reliability needs at least 2 candidates scored by 2 raters');
  return { items: groupByItem(ratings).map((item) => analyseItem(item, options)) };
}

export const reliabilityAnalysis: Analysis<ReliabilityResult> = {
  name: 'reliability',
  summary: 'Per item: ICC1-3 and ICC1k-3k (Shrout & Fleiss) with 95% intervals, Fleiss kappa, exact/adjacent agreement; --pairs adds weighted Cohen kappa per rater pair.',
  columns: ['candidate', 'rater', 'item', 'score'],
  options: { pairs: { type: 'boolean' } },
  run(rows, options) {
    const ratings = rows.map((row) => ({
      candidate: labelCell(row, 'candidate'),
      rater: labelCell(row, 'rater'),
      item: labelCell(row, 'item'),
      score: numberCell(row, 'score'),
      line: row.line,
    }));
    return reliability(ratings, { pairs: options.pairs === true });
  },
};
