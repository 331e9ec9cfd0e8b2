// The Wilson score interval for a proportion, without continuity correction, exactly as R's
// prop.test(x, n, correct = FALSE)$conf.int computes it (clipped to [0, 1], and exactly 0 or 1
// at the ends).
import { normalQuantile } from './distributions.ts';

export function wilsonInterval(successes: number, n: number, level = 0.95): [number, number] {
  const z = normalQuantile((1 + level) / 2);
  const rate = successes / n;
  const z22n = (z * z) / (2 * n);
  const spread = z * Math.sqrt((rate * (1 - rate)) / n + z22n / (2 * n));
  const upper = rate >= 1 ? 1 : (rate + z22n + spread) / (1 + 2 * z22n);
  const lower = rate <= 0 ? 0 : (rate + z22n - spread) / (1 + 2 * z22n);
  return [Math.max(lower, 0), Math.min(upper, 1)];
}
