// Agreement between raters on categorical (ordinal) scores: Fleiss' κ for many raters, Cohen's
// weighted κ for a pair, and the plain proportions of rater pairs that agree exactly or within
// one point. A κ the data leave undefined is null, never NaN.

/**
 * Fleiss' κ (Fleiss 1971) of a complete table (rows = candidates, each rated by the same number
 * of raters). The categories are the score values that occur. When only one value occurs (every
 * rating identical) chance agreement is 1 and κ = 0/0: there is nothing to correct for chance,
 * so it is null.
 */
export function fleissKappa(scores: readonly (readonly number[])[]): number | null {
  const n = scores.length;
  const k = scores[0]?.length ?? 0;
  if (n < 1 || k < 2 || scores.some((row) => row.length !== k)) throw new RangeError('fleissKappa needs complete rows of at least 2 ratings');
  const categories = [...new Set(scores.flat())];
  const categoryTotals = new Map<number, number>(categories.map((c) => [c, 0]));
  let observed = 0;
  for (const row of scores) {
    const counts = new Map<number, number>();
    for (const score of row) counts.set(score, (counts.get(score) ?? 0) + 1);
    let squares = 0;
    for (const [category, count] of counts) {
      squares += count * count;
      categoryTotals.set(category, categoryTotals.get(category)! + count);
    }
    observed += (squares - k) / (k * (k - 1));
  }
  observed /= n;
  let chance = 0;
  for (const total of categoryTotals.values()) chance += (total / (n * k)) ** 2;
  if (chance === 1) return null;
  return (observed - chance) / (1 - chance);
}

export type KappaWeighting = 'linear' | 'quadratic';

/**
 * Cohen's weighted κ (Cohen 1968) of two raters' scores on the same candidates:
 * κw = 1 − Σ v·p_observed / Σ v·p_chance, with disagreement weight v = |a − b| (linear) or
 * (a − b)² (quadratic) taken from the score values themselves, so a gap in the scale used
 * (e.g. nobody gave 3) still counts as distance. Scaling v by the range cancels out, so this
 * equals the agreement-weight form 1 − |a − b|/range used by psych::cohen.kappa. Null when
 * there are no shared candidates or chance disagreement is 0 (both raters gave every candidate
 * the same single score: nothing to correct for chance).
 */
export function weightedKappa(pairs: readonly (readonly [number, number])[], weighting: KappaWeighting): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const disagreement = (a: number, b: number): number => (weighting === 'linear' ? Math.abs(a - b) : (a - b) ** 2);
  let observed = 0;
  for (const [a, b] of pairs) observed += disagreement(a, b);
  observed /= n;
  // Chance: every first-rater score against every second-rater score, i.e. the product of the marginals.
  const firstCounts = countValues(pairs.map(([a]) => a));
  const secondCounts = countValues(pairs.map(([, b]) => b));
  let chance = 0;
  for (const [a, countA] of firstCounts) {
    for (const [b, countB] of secondCounts) chance += disagreement(a, b) * (countA / n) * (countB / n);
  }
  if (chance === 0) return null;
  return 1 - observed / chance;
}

function countValues(values: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

export interface PairAgreement {
  /** Proportion of rater pairs giving identical scores. */
  exact: number;
  /** Proportion of rater pairs whose scores are at most 1 apart. */
  adjacent: number;
}

/** Over every candidate (row) and every unordered pair of its raters. */
export function pairAgreement(scores: readonly (readonly number[])[]): PairAgreement {
  let pairs = 0;
  let exact = 0;
  let adjacent = 0;
  for (const row of scores) {
    for (let i = 0; i < row.length; i++) {
      for (let j = i + 1; j < row.length; j++) {
        const gap = Math.abs(row[i]! - row[j]!);
        pairs++;
        if (gap === 0) exact++;
        if (gap <= 1) adjacent++;
      }
    }
  }
  if (pairs === 0) throw new RangeError('pairAgreement needs at least one row with 2 ratings');
  return { exact: exact / pairs, adjacent: adjacent / pairs };
}
