// Examiner stringency: score = μ + candidate + rater [+ scenario], fitted by ordinary least
// squares on the incomplete design (not every rater sees every candidate). Raters are in
// sum-to-zero (deviation) coding, so a rater's effect is their departure from the average
// rater, with the same candidates: positive = more lenient (a dove), negative = a hawk.
// R: lm(score ~ candidate + rater [+ scenario], contrasts = list(rater = "contr.sum")), vcov().
import type { RaterEffect, StringencyResult } from '../../shared/analytics.ts';
import type { Analysis, OptionValues } from './analysis.ts';
import { AnalysisInputError, labelCell, numberCell, type CsvRow } from './input.ts';
import { leastSquares } from './least-squares.ts';

export interface Rating {
  candidate: string;
  rater: string;
  score: number;
  /** Only with the scenario term. */
  scenario?: string;
}

export interface StringencyOptions {
  /** Adds a scenario term (every rating then needs a scenario). */
  byScenario: boolean;
}

/** A flag needs |z| ≥ 2 and at least this many ratings by the rater. */
export const FLAG_MIN_RATINGS = 10;
export const FLAG_MIN_Z = 2;

/** Distinct values in order of first appearance. */
function levels(values: readonly string[]): string[] {
  return [...new Set(values)];
}

const quoteList = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * The raters linked through shared candidates, as groups. Rater effects are comparable only
 * within a group: one group means the design is connected.
 */
function raterGroups(ratings: readonly Rating[], raters: readonly string[]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(x, root);
    return root;
  };
  const union = (a: string, b: string): void => {
    parent.set(find(a), find(b));
  };
  for (const r of ratings) {
    const raterNode = `r:${r.rater}`;
    const candidateNode = `c:${r.candidate}`;
    if (!parent.has(raterNode)) parent.set(raterNode, raterNode);
    if (!parent.has(candidateNode)) parent.set(candidateNode, candidateNode);
    union(raterNode, candidateNode);
  }
  const groups = new Map<string, string[]>();
  for (const rater of raters) {
    const root = find(`r:${rater}`);
    groups.set(root, [...(groups.get(root) ?? []), rater]);
  }
  return [...groups.values()];
}

export function stringency(ratings: readonly Rating[], options: StringencyOptions): StringencyResult {
  const n = ratings.length;
  const raters = levels(ratings.map((r) => r.rater));
  if (raters.length < 2) throw new AnalysisInputError(`needs ratings by at least 2 raters (found 1: "${raters[0] ?? ''}")`, { column: 'rater' });
  const first = ratings[0]!.score;
  if (ratings.every((r) => r.score === first)) throw new AnalysisInputError(`every score is ${first}: needs scores that vary`, { column: 'score' });

  const groups = raterGroups(ratings, raters);
  if (groups.length > 1) {
    const described = groups.map((g) => `{${quoteList(g)}}`).join(' and ');
    throw new AnalysisInputError(
      `rater effects are not estimable: the raters fall into ${groups.length} groups that share no candidate (${described}); every rater must be linked to the others through candidates rated by both`,
      { column: 'rater' },
    );
  }

  const candidates = levels(ratings.map((r) => r.candidate));
  const scenarios = options.byScenario ? levels(ratings.map((r) => r.scenario ?? '')) : [];

  // Design columns: intercept, candidates and scenarios in treatment coding (the first level is
  // the baseline), then raters in sum-to-zero coding (the last rater is −1 in every rater
  // column). Raters come last so that aliasing with scenario shows up in a rater column.
  const columns: Float64Array[] = [];
  const indicator = (matches: (r: Rating) => boolean): Float64Array => Float64Array.from(ratings, (r) => (matches(r) ? 1 : 0));
  columns.push(new Float64Array(n).fill(1));
  for (const c of candidates.slice(1)) columns.push(indicator((r) => r.candidate === c));
  for (const s of scenarios.slice(1)) columns.push(indicator((r) => r.scenario === s));
  const lastRater = raters[raters.length - 1]!;
  const firstRaterColumn = columns.length;
  for (const rater of raters.slice(0, -1)) {
    columns.push(Float64Array.from(ratings, (r) => (r.rater === rater ? 1 : r.rater === lastRater ? -1 : 0)));
  }
  const p = columns.length;
  const fit = leastSquares(columns, Float64Array.from(ratings, (r) => r.score));

  // A rater's effect as a combination of the rater columns' coefficients: e_j, or −Σ e for the last.
  const raterContrast = (j: number): number[] => {
    const l = new Array<number>(p).fill(0);
    for (let c = 0; c < raters.length - 1; c++) l[firstRaterColumn + c] = j === raters.length - 1 ? -1 : c === j ? 1 : 0;
    return l;
  };
  // Estimable iff orthogonal to the design's null space (scenario may alias candidates harmlessly).
  const notEstimable = raters.filter((_, j) => {
    const l = raterContrast(j);
    return fit.nullSpace.some((v) => {
      const dot = v.reduce((s, x, i) => s + x * l[i]!, 0);
      const scale = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      return Math.abs(dot) > 1e-7 * scale;
    });
  });
  if (notEstimable.length > 0) {
    throw new AnalysisInputError(
      `rater effects are not estimable with the scenario term: the effects of raters ${quoteList(notEstimable)} cannot be separated from scenario effects; raters need to score scenarios that other raters score too`,
      { column: 'scenario' },
    );
  }
  // Residual df N − p, p the estimable parameters (scenario columns aliased with candidates add none).
  if (fit.residualDf <= 0) {
    const parameters = `1 + ${candidates.length - 1} candidates + ${raters.length - 1} raters${options.byScenario ? ` + ${scenarios.length - 1} scenarios` : ''}`;
    const counted = fit.rank === p ? `${p} parameters: ${parameters}` : `${fit.rank} estimable parameters`;
    throw new AnalysisInputError(`needs more ratings than the model has parameters (${n} ratings, ${counted})`);
  }
  // Exact fit: no residual variation, so no standard error can be given.
  const totalMean = ratings.reduce((s, r) => s + r.score, 0) / n;
  const totalSumOfSquares = ratings.reduce((s, r) => s + (r.score - totalMean) ** 2, 0);
  if (fit.residualSumOfSquares <= 1e-20 * totalSumOfSquares) {
    throw new AnalysisInputError('the model fits every score exactly (no residual variation), so standard errors are undefined: needs candidates rated by more than one rater whose scores are not exactly additive');
  }

  const counts = new Map<string, number>();
  for (const r of ratings) counts.set(r.rater, (counts.get(r.rater) ?? 0) + 1);

  const result: RaterEffect[] = raters.map((rater, j) => {
    const l = raterContrast(j);
    const terms = l.flatMap((weight, column) => (weight === 0 ? [] : [{ weight, column }]));
    const effect = terms.reduce((s, t) => s + t.weight * fit.coefficients[t.column]!, 0);
    let variance = 0;
    for (const a of terms) for (const b of terms) variance += a.weight * b.weight * fit.covariance(a.column, b.column);
    const se = Math.sqrt(variance);
    const z = effect / se;
    const ratingsByRater = counts.get(rater)!;
    const flag = Math.abs(z) >= FLAG_MIN_Z && ratingsByRater >= FLAG_MIN_RATINGS ? (z < 0 ? 'hawk' : 'dove') : null;
    return { rater, n: ratingsByRater, effect, se, z, flag };
  });
  return { raters: result };
}

export const STRINGENCY: Analysis<StringencyResult> = {
  name: 'stringency',
  summary: 'Rater effects (hawks and doves) from OLS of score = μ + candidate + rater [+ scenario], raters in sum-to-zero coding; --by scenario reads a scenario column.',
  columns: ['candidate', 'rater', 'score'],
  options: { by: { type: 'string' } },
  columnsFor: (options: OptionValues) => (options['by'] === 'scenario' ? ['candidate', 'rater', 'score', 'scenario'] : ['candidate', 'rater', 'score']),
  run(rows: CsvRow[], options: OptionValues): StringencyResult {
    const by = options['by'];
    if (by !== undefined && by !== 'scenario') throw new AnalysisInputError(`--by takes "scenario" (got "${String(by)}")`);
    const byScenario = by === 'scenario';
    const ratings = rows.map((row): Rating => ({
      candidate: labelCell(row, 'candidate'),
      rater: labelCell(row, 'rater'),
      score: numberCell(row, 'score'),
      ...(byScenario ? { scenario: labelCell(row, 'scenario') } : {}),
    }));
    return stringency(ratings, { byScenario });
  },
};
