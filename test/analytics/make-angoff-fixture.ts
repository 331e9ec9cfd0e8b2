// Writes test/analytics/fixtures/angoff-cohort.csv: 11 judges × 40 items, each judge's estimate
// of the borderline candidate's chance on the item (two decimals, 0.05–0.95), rows shuffled.
// Run: npx node test/analytics/make-angoff-fixture.ts, then Rscript test/analytics/r/angoff.R (both outputs are committed; CI runs neither).
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from './seeded-random.ts';

const { random, normal } = seededRandom(1971);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const items = Array.from({ length: 40 }, (_, i) => `Q${i + 1}`);
const itemEase = new Map(items.map((item) => [item, 0.6 + normal(0.15)]));
const judges = Array.from({ length: 11 }, (_, j) => `J${j + 1}`);

const rows: string[] = [];
for (const judge of judges) {
  const leniency = normal(0.05);
  for (const item of items) rows.push(`${judge},${item},${clamp(itemEase.get(item)! + leniency + normal(0.08), 0.05, 0.95).toFixed(2)}`);
}
// Judges enter items in their own order: the analysis must not depend on row order.
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [rows[i], rows[j]] = [rows[j]!, rows[i]!];
}
const out = path.join(import.meta.dirname, 'fixtures', 'angoff-cohort.csv');
fs.writeFileSync(out, `judge,item,estimate\n${rows.join('\n')}\n`);
console.log(`${out}: ${rows.length} rows`);
