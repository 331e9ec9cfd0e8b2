// Comparing a number with R's reference: |ours − R| ≤ 1e-6 · max(1, |R|), i.e. absolute below 1
// and relative above (R's values are printed at 17 significant digits, so this is our error).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

export const FIXTURES = path.join(import.meta.dirname, 'fixtures');
export const readFixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

export function expectCloseToR(actual: number, expected: number, what: string): void {
  const tolerance = 1e-6 * Math.max(1, Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs R ${expected}`).toBeLessThanOrEqual(tolerance);
}
