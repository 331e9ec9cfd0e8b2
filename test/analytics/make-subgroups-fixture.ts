// Writes test/analytics/fixtures/subgroups-cohort.csv: 500 candidates, each with one outcome, asked
// five characteristics (each left unanswered by about 3%); ethnicity has ten groups and the
// "Black African" group's pass rate is planted lower (0.45 against 0.78); some groups fall under
// 10 candidates (suppressed).
// Run: npx node test/analytics/make-subgroups-fixture.ts   (then Rscript test/analytics/r/subgroups.R)
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from './seeded-random.ts';

const { random } = seededRandom(2021);
const pick = (choices: Array<[string, number]>): string => {
  let u = random() * choices.reduce((s, [, w]) => s + w, 0);
  for (const [choice, weight] of choices) if ((u -= weight) < 0) return choice;
  return choices.at(-1)![0];
};
const CHARACTERISTICS: Record<string, Array<[string, number]>> = {
  'age band': [['16-24', 0.2], ['25-34', 0.4], ['35-44', 0.22], ['45-54', 0.16], ['55+', 0.02]],
  sex: [['female', 0.78], ['male', 0.2], ['prefer not to say', 0.02]],
  ethnicity: [
    ['White British', 0.52], ['White other', 0.09], ['Asian Indian', 0.06], ['Asian Pakistani', 0.05], ['Asian Bangladeshi', 0.04],
    ['Black African', 0.08], ['Black Caribbean', 0.05], ['Mixed', 0.05], ['Other', 0.03], ['Prefer not to say', 0.03],
  ],
  disability: [['no', 0.8], ['yes', 0.15], ['prefer not to say', 0.05]],
  'first language': [['english', 0.88], ['other', 0.12]],
};

const rows: string[] = [];
for (let i = 1; i <= 500; i++) {
  const groups = Object.fromEntries(Object.entries(CHARACTERISTICS).map(([name, choices]) => [name, pick(choices)]));
  const passed = random() < (groups.ethnicity === 'Black African' ? 0.45 : 0.78) ? 1 : 0;
  for (const [name, group] of Object.entries(groups)) {
    if (random() < 0.03) continue;
    rows.push(`s${String(i).padStart(3, '0')},${name},${group},${passed}`);
  }
}
const out = path.join(import.meta.dirname, 'fixtures', 'subgroups-cohort.csv');
fs.writeFileSync(out, `candidate,characteristic,group,passed\n${rows.join('\n')}\n`);
console.log(`${out}: ${rows.length} rows`);
