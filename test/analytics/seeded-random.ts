// The project's seeded PRNG (mulberry32, server/assessment/draw.ts) plus a normal deviate, so the
// generated fixtures are reproducible.
import { seededRandom as uniform } from '../../server/assessment/draw.ts';

export function seededRandom(seed: number): { random: () => number; normal: (sd: number) => number } {
  const random = uniform(seed);
  // Box–Muller.
  const normal = (sd: number): number => sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return { random, normal };
}
