// The probability distributions the analyses need, from jStat (a well-kept library), behind
// names that say what they compute. jStat ships no types; this is the one place that knows it.
import jStatModule from 'jstat';

interface JStat {
  centralF: { cdf(x: number, df1: number, df2: number): number; inv(p: number, df1: number, df2: number): number };
  studentt: { cdf(x: number, df: number): number; inv(p: number, df: number): number };
  chisquare: { cdf(x: number, df: number): number; inv(p: number, df: number): number };
  normal: { cdf(x: number, mean: number, sd: number): number; inv(p: number, mean: number, sd: number): number };
}

const { jStat } = jStatModule as unknown as { jStat: JStat };

/** Quantile of the F distribution (R: qf(p, df1, df2)). */
export const fQuantile = (p: number, df1: number, df2: number): number => jStat.centralF.inv(p, df1, df2);
/** P(F ≤ x) (R: pf(x, df1, df2)). */
export const fCdf = (x: number, df1: number, df2: number): number => jStat.centralF.cdf(x, df1, df2);
/** Quantile of Student's t (R: qt(p, df)). */
export const tQuantile = (p: number, df: number): number => jStat.studentt.inv(p, df);
/** P(T ≤ x) (R: pt(x, df)). */
export const tCdf = (x: number, df: number): number => jStat.studentt.cdf(x, df);
/** P(χ² ≤ x) (R: pchisq(x, df)). */
export const chiSquareCdf = (x: number, df: number): number => jStat.chisquare.cdf(x, df);
/** Standard normal P(Z ≤ x) (R: pnorm(x)). */
export const normalCdf = (x: number): number => jStat.normal.cdf(x, 0, 1);
/** Standard normal quantile (R: qnorm(p)). */
export const normalQuantile = (p: number): number => jStat.normal.inv(p, 0, 1);
