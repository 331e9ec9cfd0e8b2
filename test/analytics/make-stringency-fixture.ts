// Writes test/analytics/fixtures/stringency-cohort.csv: a seeded, realistic incomplete design
// (90 candidates, 9 raters, 3 scenarios; two observers per sitting, some sittings with one,
// some candidates who left early) with a planted hawk (R03) and dove (R07).
// Run: npx node test/analytics/make-stringency-fixture.ts, then Rscript test/analytics/r/stringency.R (both outputs are committed; CI runs neither).
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from './seeded-random.ts';

const { random, normal } = seededRandom(14);
const pick = <T>(from: readonly T[]): T => from[Math.floor(random() * from.length)]!;

const raters = Array.from({ length: 9 }, (_, i) => `R${String(i + 1).padStart(2, '0')}`);
const raterEffect = new Map(raters.map((r) => [r, r === 'R03' ? -3 : r === 'R07' ? 3 : normal(0.5)]));
const scenarioEffect = new Map([['S1', 0], ['S2', -1.5], ['S3', 1]]);

const lines = ['candidate,rater,score,scenario'];
for (let c = 1; c <= 90; c++) {
  const candidate = `C${String(c).padStart(3, '0')}`;
  const ability = normal(4);
  // One in ten candidates leaves after one or two scenarios.
  const sittings = random() < 0.1 ? 1 + Math.floor(random() * 2) : 3;
  for (const [scenario, effect] of [...scenarioEffect].slice(0, sittings)) {
    const lead = pick(raters);
    const observers = [lead];
    // One sitting in twenty has no co-observer.
    if (random() >= 0.05) observers.push(pick(raters.filter((r) => r !== lead)));
    for (const rater of observers) {
      const score = Math.round(25 + ability + raterEffect.get(rater)! + effect + normal(2));
      lines.push(`${candidate},${rater},${Math.min(40, Math.max(0, score))},${scenario}`);
    }
  }
}
const out = path.join(import.meta.dirname, 'fixtures', 'stringency-cohort.csv');
fs.writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`${out}: ${lines.length - 1} ratings`);
