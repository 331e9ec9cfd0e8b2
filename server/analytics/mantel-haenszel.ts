// The Mantel–Haenszel common odds ratio over K 2×2 tables, its log-variance by Robins, Breslow &
// Greenland (1986), and the continuity-corrected MH χ² test, computed as R's
// stats::mantelhaen.test(x, correct = TRUE) does (rows: reference, focal; columns: pass, fail).
import { normalCdf } from './distributions.ts';

/** One stratum: a reference pass, b reference fail, c focal pass, d focal fail. */
export interface TwoByTwo {
  a: number;
  b: number;
  c: number;
  d: number;
}

export interface MantelHaenszel {
  /** α_MH = Σ(ad/n) / Σ(bc/n): above 1 favours the reference group. */
  alpha: number;
  /** Robins–Breslow–Greenland variance of ln α_MH. */
  lnAlphaVariance: number;
  /** MH χ² (1 df) with R's continuity correction (0.5, only when |Σa − ΣE(a)| ≥ 0.5). */
  chiSquare: number;
  p: number;
}

/**
 * Every table must hold both groups (a+b > 0 and c+d > 0); the caller leaves out the others,
 * which add nothing to any of the sums. α is Infinity or 0 (and the variance not finite) when one
 * kind of discordant pair never occurs: callers decide what to say then.
 */
export function mantelHaenszel(tables: readonly TwoByTwo[]): MantelHaenszel {
  let r = 0; // Σ ad/n
  let s = 0; // Σ bc/n
  let pr = 0; // Σ P·R with P = (a+d)/n, R = ad/n
  let psqr = 0; // Σ (P·S + Q·R) with Q = (b+c)/n, S = bc/n
  let qs = 0; // Σ Q·S
  let deviation = 0; // Σ (a − E(a))
  let variance = 0; // Σ Var(a) under the hypergeometric
  for (const { a, b, c, d } of tables) {
    const n = a + b + c + d;
    const rk = (a * d) / n;
    const sk = (b * c) / n;
    const pk = (a + d) / n;
    const qk = (b + c) / n;
    r += rk;
    s += sk;
    pr += pk * rk;
    psqr += pk * sk + qk * rk;
    qs += qk * sk;
    const reference = a + b;
    const focal = c + d;
    const passes = a + c;
    const fails = b + d;
    deviation += a - (reference * passes) / n;
    variance += (reference * focal * passes * fails) / (n * n * (n - 1));
  }
  const alpha = r / s;
  const lnAlphaVariance = pr / (2 * r * r) + psqr / (2 * r * s) + qs / (2 * s * s);
  const yates = Math.abs(deviation) >= 0.5 ? 0.5 : 0;
  const chiSquare = (Math.abs(deviation) - yates) ** 2 / variance;
  // With 1 df, P(χ² > x) = 2·P(Z < −√x): the upper tail without the cancellation of 1 − cdf.
  return { alpha, lnAlphaVariance, chiSquare, p: 2 * normalCdf(-Math.sqrt(chiSquare)) };
}
