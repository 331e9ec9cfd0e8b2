// `npm run analyse -- dif` against R's stats::mantelhaen.test on committed fixtures
// (test/analytics/r/dif.R writes the expected JSON). Every number must agree with R to a
// relative 1e-6 (|ours − R| ≤ 1e-6·|R|): stricter than absolute for the p-values and SEs here.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../server/analytics/cli.ts';
import { dif, difAnalysis, difTables, etsClass } from '../../server/analytics/dif.ts';
import { readCsv } from '../../server/analytics/input.ts';
import { mantelHaenszel } from '../../server/analytics/mantel-haenszel.ts';
import type { DifResult } from '../../shared/analytics.ts';
import { analyseAsProcess } from '../analytics/cli-process.ts';

const FIXTURES = path.join(import.meta.dirname, '../analytics/fixtures');
const FIXTURE_NAMES = ['dif-small', 'dif-cohort'];
const CONTRACT_KEYS = ['item', 'alphaMH', 'deltaMH', 'se', 'class', 'strata'];

interface ExpectedItem {
  item: string;
  alphaMH: number;
  deltaMH: number;
  se: number;
  class: string;
  strata: number;
  statistic: number;
  p: number;
}

const readFixture = (file: string): string => fs.readFileSync(file, 'utf8');
const expectClose = (actual: number, expected: number, what: string): void => {
  expect(Math.abs(actual - expected), `${what}: ${actual} against R's ${expected}`).toBeLessThanOrEqual(1e-6 * Math.abs(expected));
};

describe.each(FIXTURE_NAMES)('dif on %s matches R', (name) => {
  const csv = path.join(FIXTURES, `${name}.csv`);
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as { items: ExpectedItem[] };

  it('prints the contract through the CLI, every number as R has it', () => {
    const outcome = runCli(['dif', csv], readFixture);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout) as DifResult;
    expect(Object.keys(result)).toEqual(['items']);
    expect(result.items.map((i) => i.item)).toEqual(expected.items.map((i) => i.item));
    result.items.forEach((item, index) => {
      const r = expected.items[index]!;
      expect(Object.keys(item)).toEqual(CONTRACT_KEYS);
      expectClose(item.alphaMH, r.alphaMH, `${item.item} alphaMH`);
      expectClose(item.deltaMH, r.deltaMH, `${item.item} deltaMH`);
      expectClose(item.se, r.se, `${item.item} se`);
      expect(item.class, `${item.item} class`).toBe(r.class);
      expect(item.strata, `${item.item} strata`).toBe(r.strata);
    });
  });

  it('gives the same from the core function, and the MH χ² and p of mantelhaen.test', () => {
    const responses = readCsv(readFixture(csv), difAnalysis.columns).map((row) => ({
      candidate: row.cells.candidate!,
      group: row.cells.group as 'reference' | 'focal',
      item: row.cells.item!,
      pass: Number(row.cells.pass) as 0 | 1,
      stratum: row.cells.stratum!,
    }));
    expect(dif(responses)).toEqual(JSON.parse(runCli(['dif', csv], readFixture).stdout));
    const perItem = difTables(responses);
    expect(perItem.map((i) => i.item)).toEqual(expected.items.map((i) => i.item));
    perItem.forEach(({ item, tables }, index) => {
      const mh = mantelHaenszel(tables);
      expectClose(mh.chiSquare, expected.items[index]!.statistic, `${item} MH χ²`);
      expectClose(mh.p, expected.items[index]!.p, `${item} p`);
    });
  });
});

describe('dif fixtures cover what they claim', () => {
  it('flag the planted item of the cohort (q7, class C) and nothing else, and leave out a stratum holding one group only', () => {
    const cohort = JSON.parse(runCli(['dif', path.join(FIXTURES, 'dif-cohort.csv')], readFixture).stdout) as DifResult;
    expect(cohort.items.filter((i) => i.class !== 'A').map((i) => [i.item, i.class])).toEqual([['q7', 'C']]);
    // q7 is harder for the focal group: α_MH above 1, Δ negative.
    expect(cohort.items.find((i) => i.item === 'q7')!.deltaMH).toBeLessThan(-1.5);
    // dif-small's band "top" holds one reference candidate and no focal one.
    const small = JSON.parse(runCli(['dif', path.join(FIXTURES, 'dif-small.csv')], readFixture).stdout) as DifResult;
    expect(small.items.map((i) => [i.strata, i.class])).toEqual([[3, 'A'], [3, 'C'], [3, 'A']]);
  });
});

describe('the ETS classes at their boundaries', () => {
  // One-sided 5% point of the normal: |Δ| is significantly above 1 when (|Δ| − 1)/SE > 1.6449.
  it.each([
    ['A: |Δ| under 1, however significant', -0.99, 0.01, 1e-9, 'A'],
    ['A: |Δ| large but the MH χ² not significant', 2.5, 0.2, 0.05, 'A'],
    ['B: |Δ| from 1 to under 1.5, significant', 1.2, 0.1, 0.01, 'B'],
    ['B: |Δ| at least 1.5 but not significantly above 1', -1.6, 0.6 / 1.6, 0.001, 'B'],
    ['C: |Δ| at least 1.5 and significantly above 1', -1.6, 0.6 / 1.7, 0.001, 'C'],
    ['C: exactly 1.5', 1.5, 0.1, 0.001, 'C'],
  ] as const)('%s', (_what, delta, se, chiSquareP, expected) => {
    expect(etsClass(delta, se, chiSquareP)).toBe(expected);
  });
});

describe('dif refuses bad input with one line naming the row and column', () => {
  const header = 'candidate,group,item,pass,stratum';
  const run = (text: string) => runCli(['dif', 'in.csv'], () => text);
  const file = (lines: string[]) => [header, ...lines].join('\n');
  const good = ['r1,reference,q1,1,low', 'r2,reference,q1,0,low', 'f1,focal,q1,1,low', 'f2,focal,q1,0,low'];

  it('accepts the well-formed base case these build on', () => {
    expect(run(file(good)).code).toBe(0);
  });

  it.each([
    ['a group that is neither reference nor focal', file([...good, 'x1,comparison,q1,1,low']), 'row 6, column "group": "comparison" is not one of reference, focal'],
    ['a pass that is not 0/1', file([...good, 'r3,reference,q1,2,low']), 'row 6, column "pass": "2" is not 0 or 1'],
    ['an item with no stratum holding both groups', file([...good, 'r1,reference,q2,1,low', 'f1,focal,q2,1,high']), 'row 6, column "stratum": item "q2" has no stratum holding both groups (needs at least one stratum with a reference and a focal candidate)'],
    ['a candidate answering an item twice', file([...good, 'r1,reference,q1,0,low']), 'row 6, column "candidate": candidate "r1" answers item "q1" twice'],
    ['a candidate in both groups', file([...good, 'r1,focal,q2,0,low']), 'row 6, column "group": candidate "r1" is focal here but reference on row 2'],
    ['an item whose odds ratio is infinite', file(['r1,reference,q1,1,low', 'r2,reference,q1,1,low', 'f1,focal,q1,0,low', 'f2,focal,q1,0,low']), 'row 2, column "pass": item "q1" has no stratum where a reference candidate fails and a focal one passes, so its Mantel–Haenszel odds ratio is not finite (needs at least one stratum of each kind)'],
    ['a missing column', 'candidate,group,item,pass\nr1,reference,q1,1\n', 'row 1, column "stratum": the header lacks "stratum" (expected "candidate,group,item,pass,stratum")'],
  ])('%s', (_what, text, message) => {
    expect(run(text)).toEqual({ code: 2, stdout: '', stderr: `analyse: in.csv: ${message}\n` });
  });
});

describe('dif as a real process', () => {
  it('prints exactly one JSON document on stdout and nothing on stderr', () => {
    expect(analyseAsProcess<DifResult>(['dif', path.join(FIXTURES, 'dif-cohort.csv')]).items).toHaveLength(10);
  });
});
