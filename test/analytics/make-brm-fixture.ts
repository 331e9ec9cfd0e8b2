// Writes test/analytics/fixtures/brm-cohort.csv: 100 candidates × 8 stations (score 0–20, global
// 1–7 from the same underlying ability), six candidates missing a station (absent or void), so
// they count in their stations' regressions but not in alpha and SEM.
// Run: npx node test/analytics/make-brm-fixture.ts, then Rscript test/analytics/r/brm.R (both outputs are committed; CI runs neither).
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from './seeded-random.ts';

const { random, normal } = seededRandom(49);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const stations = Array.from({ length: 8 }, (_, i) => `S${i + 1}`);
const difficulty = new Map(stations.map((s) => [s, normal(1.5)]));

const lines = ['candidate,station,score,global'];
for (let c = 1; c <= 100; c++) {
  const candidate = `C${String(c).padStart(3, '0')}`;
  const ability = normal(1);
  const missing = c % 17 === 0 ? stations[Math.floor(random() * stations.length)] : undefined;
  for (const station of stations) {
    if (station === missing) continue;
    const performance = ability + normal(0.7);
    const score = Math.round(clamp(12 + 3 * performance - difficulty.get(station)! + normal(1.5), 0, 20));
    const global = Math.round(clamp(4.2 + 1.3 * performance + normal(0.6), 1, 7));
    lines.push(`${candidate},${station},${score},${global}`);
  }
}
const out = path.join(import.meta.dirname, 'fixtures', 'brm-cohort.csv');
fs.writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`${out}: ${lines.length - 1} rows`);
