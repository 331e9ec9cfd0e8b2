// Writes test/analytics/fixtures/reliability-cohort.csv: a seeded cohort of realistic size for
// the reliability cross-check against R. 96 candidates, four items; the same panel scores every
// candidate on an item (as in a studio sitting) but some ratings are missing, so some candidates
// are incomplete and must be dropped. Raters differ in stringency and in noise.
// Run: npx node test/analytics/make-reliability-fixture.ts   (then Rscript test/analytics/r/reliability.R)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../server/assessment/draw.ts';

const SEED = 20261201;
const CANDIDATES = 96;
const MISSING_RATE = 0.06;

interface Item {
  name: string;
  min: number;
  max: number;
  /** rater → [stringency offset, noise SD] */
  raters: Record<string, [number, number]>;
}

const ITEMS: Item[] = [
  { name: 'engagement', min: 1, max: 4, raters: { lead: [0, 0.45], co1: [-0.35, 0.5], co2: [0.2, 0.6] } },
  { name: 'assessment', min: 1, max: 4, raters: { lead: [0, 0.5], co1: [-0.3, 0.55], co2: [0.15, 0.5] } },
  { name: 'risk', min: 1, max: 4, raters: { lead: [0.1, 0.7], co1: [-0.5, 0.7], co2: [0, 0.8], co3: [0.4, 0.9] } },
  { name: 'global', min: 1, max: 7, raters: { lead: [0, 0.7], co1: [-0.6, 0.8], co2: [0.3, 0.9], moderator: [-0.2, 0.6] } },
];

const random = seededRandom(SEED);
const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const lines = ['candidate,rater,item,score'];
const abilities = Array.from({ length: CANDIDATES }, () => normal());
for (const item of ITEMS) {
  const middle = (item.min + item.max) / 2;
  const spread = (item.max - item.min) / 3.5;
  abilities.forEach((ability, c) => {
    for (const [rater, [offset, noise]] of Object.entries(item.raters)) {
      if (random() < MISSING_RATE) continue;
      const raw = middle + spread * ability + offset + noise * normal();
      const score = Math.min(item.max, Math.max(item.min, Math.round(raw)));
      lines.push(`c${String(c + 1).padStart(3, '0')},${rater},${item.name},${score}`);
    }
  });
}

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/reliability-cohort.csv');
fs.writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`wrote ${lines.length - 1} ratings to ${out}`);
