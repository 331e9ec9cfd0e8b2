// Intraclass correlations of a complete candidates × raters table: the six forms of Shrout &
// Fleiss (1979) from the two-way ANOVA mean squares, with the 95% intervals of McGraw & Wong
// (1996) computed exactly as R's psych::ICC(x, lmer = FALSE) does (psych 2.2.9), including
// its Satterthwaite-style non-integer denominator df for ICC2 and ICC2k.
import { ICC_FORMS, type IccForm } from '../../shared/analytics.ts';
import { fQuantile } from './distributions.ts';

export type Interval = [number | null, number | null];

export interface IccResult {
  icc: Record<IccForm, number | null>;
  ci95: Record<IccForm, Interval>;
}

export interface MeanSquares {
  /** Candidates (targets). */
  n: number;
  /** Raters (judges). */
  k: number;
  /** Between candidates. */
  bms: number;
  /** Between raters. */
  jms: number;
  /** Residual (candidate × rater interaction + error). */
  ems: number;
  /** Within candidates (raters + residual pooled: the one-way model). */
  wms: number;
}

const sum = (values: readonly number[]): number => values.reduce((total, v) => total + v, 0);

/** The ANOVA mean squares of a complete table (rows = candidates, columns = raters). */
export function meanSquares(scores: readonly (readonly number[])[]): MeanSquares {
  const n = scores.length;
  const k = scores[0]?.length ?? 0;
  if (n < 2 || k < 2 || scores.some((row) => row.length !== k)) {
    throw new RangeError(`meanSquares needs a complete table of at least 2 × 2 (got ${n} rows of ${scores.map((r) => r.length).join('/')})`);
  }
  const rowMeans = scores.map((row) => sum(row) / k);
  const columnMeans = Array.from({ length: k }, (_, j) => sum(scores.map((row) => row[j]!)) / n);
  const grandMean = sum(rowMeans) / n;
  // Each sum of squares straight from its deviations (not by subtraction) so that an exactly
  // zero effect stays exactly zero: the degenerate cases below depend on it.
  const ssRows = k * sum(rowMeans.map((m) => (m - grandMean) ** 2));
  const ssColumns = n * sum(columnMeans.map((m) => (m - grandMean) ** 2));
  const ssWithin = sum(scores.flatMap((row, i) => row.map((y) => (y - rowMeans[i]!) ** 2)));
  const ssResidual = sum(scores.flatMap((row, i) => row.map((y, j) => (y - rowMeans[i]! - columnMeans[j]! + grandMean) ** 2)));
  return {
    n,
    k,
    bms: ssRows / (n - 1),
    jms: ssColumns / (k - 1),
    ems: ssResidual / ((n - 1) * (k - 1)),
    wms: ssWithin / (n * (k - 1)),
  };
}

const NO_INTERVAL: Interval = [null, null];
const orNull = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

/**
 * The six ICCs and their intervals. A value the data leave undefined is null rather than NaN:
 * every score identical makes every ICC 0/0; a residual mean square of exactly 0 (raters agree
 * perfectly up to a constant) makes the F-ratios behind ICC2/3 infinite, and a within mean
 * square of 0 does the same for ICC1, so their intervals are null. (R reports numbers there
 * only because its QR-based ANOVA leaves residuals of ~1e-31 instead of 0: rounding noise.)
 */
export function intraclassCorrelations(scores: readonly (readonly number[])[]): IccResult {
  const { n, k, bms, jms, ems, wms } = meanSquares(scores);
  const icc: Record<IccForm, number> = {
    ICC1: (bms - wms) / (bms + (k - 1) * wms),
    ICC2: (bms - ems) / (bms + (k - 1) * ems + (k * (jms - ems)) / n),
    ICC3: (bms - ems) / (bms + (k - 1) * ems),
    ICC1k: (bms - wms) / bms,
    ICC2k: (bms - ems) / (bms + (jms - ems) / n),
    ICC3k: (bms - ems) / bms,
  };
  const upper = 0.975; // two-sided 95%: qf(1 − α/2) with α = 0.05, as psych's default
  const ci95: Record<IccForm, Interval> = { ICC1: NO_INTERVAL, ICC2: NO_INTERVAL, ICC3: NO_INTERVAL, ICC1k: NO_INTERVAL, ICC2k: NO_INTERVAL, ICC3k: NO_INTERVAL };

  if (wms > 0) {
    // One-way model: F = BMS/WMS on (n − 1, n(k − 1)) df.
    const f = bms / wms;
    const df1 = n - 1;
    const df2 = n * (k - 1);
    const fLow = f / fQuantile(upper, df1, df2);
    const fHigh = f * fQuantile(upper, df2, df1);
    ci95.ICC1 = [(fLow - 1) / (fLow + (k - 1)), (fHigh - 1) / (fHigh + k - 1)];
    ci95.ICC1k = [1 - 1 / fLow, 1 - 1 / fHigh];
  }

  if (ems > 0) {
    // Two-way models: F = BMS/EMS on (n − 1, (n − 1)(k − 1)) df.
    const f = bms / ems;
    const df1 = n - 1;
    const df2 = (n - 1) * (k - 1);
    const fLow = f / fQuantile(upper, df1, df2);
    const fHigh = f * fQuantile(upper, df2, df1);
    ci95.ICC3 = [(fLow - 1) / (fLow + k - 1), (fHigh - 1) / (fHigh + k - 1)];
    ci95.ICC3k = [1 - 1 / fLow, 1 - 1 / fHigh];

    // ICC2 (absolute agreement): McGraw & Wong's approximate df v for the denominator, as
    // psych writes it (its variables are named F3U/F3L/L3/U3 there).
    const icc2 = icc.ICC2;
    const fj = jms / ems;
    const vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2;
    const vd = (n - 1) * k ** 2 * icc2 ** 2 * fj ** 2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2;
    const v = vn / vd;
    if (Number.isFinite(v) && v > 0) {
      const fU = fQuantile(upper, n - 1, v);
      const fL = fQuantile(upper, v, n - 1);
      const low = (n * (bms - fU * ems)) / (fU * (k * jms + (k * n - k - n) * ems) + n * bms);
      const high = (n * (fL * bms - ems)) / (k * jms + (k * n - k - n) * ems + n * fL * bms);
      ci95.ICC2 = [low, high];
      ci95.ICC2k = [(low * k) / (1 + low * (k - 1)), (high * k) / (1 + high * (k - 1))];
    }
  }

  const entries = ICC_FORMS.map((form) => [form, orNull(icc[form])] as const);
  const intervals = ICC_FORMS.map((form) => [form, [orNull(ci95[form][0]), orNull(ci95[form][1])]] as const);
  return {
    icc: Object.fromEntries(entries) as Record<IccForm, number | null>,
    ci95: Object.fromEntries(intervals) as Record<IccForm, Interval>,
  };
}
