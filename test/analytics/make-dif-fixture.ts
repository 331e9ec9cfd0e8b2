// Writes test/analytics/fixtures/dif-cohort.csv: 120 candidates (70 reference, 50 focal, the focal
// group 0.2 logits weaker) answer 10 items under a Rasch model; item q7 is planted 1.6 logits
// harder for the focal group and q9 0.6; about 5% of responses are missing; the stratum is the
// band of the candidate's total score.
// Run: npx node test/analytics/make-dif-fixture.ts   (then Rscript test/analytics/r/dif.R)
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from './seeded-random.ts';

const { random, normal } = seededRandom(14);
const ITEMS = 10;
const DIF_SHIFT: Record<number, number> = { 7: 1.6, 9: 0.6 };
const band = (total: number): string => (total <= 2 ? '0-2' : total <= 4 ? '3-4' : total <= 6 ? '5-6' : total <= 8 ? '7-8' : '9-10');

const rows: string[] = [];
for (let i = 1; i <= 120; i++) {
  const group = i <= 70 ? 'reference' : 'focal';
  const ability = (group === 'focal' ? -0.2 : 0) + normal(1);
  const answers: Array<[number, 0 | 1]> = [];
  for (let item = 1; item <= ITEMS; item++) {
    if (random() < 0.05) continue;
    const difficulty = -1.5 + (3 * (item - 1)) / (ITEMS - 1) + (group === 'focal' ? (DIF_SHIFT[item] ?? 0) : 0);
    answers.push([item, random() < 1 / (1 + Math.exp(difficulty - ability)) ? 1 : 0]);
  }
  const stratum = band(answers.reduce((s, [, pass]) => s + pass, 0));
  for (const [item, pass] of answers) rows.push(`c${String(i).padStart(3, '0')},${group},q${item},${pass},${stratum}`);
}
const out = path.join(import.meta.dirname, 'fixtures', 'dif-cohort.csv');
fs.writeFileSync(out, `candidate,group,item,pass,stratum\n${rows.join('\n')}\n`);
console.log(`${out}: ${rows.length} rows`);
