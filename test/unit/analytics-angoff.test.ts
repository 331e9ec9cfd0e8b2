// `angoff` against R (test/analytics/r/angoff.R: per item mean and sd over judges; the cut as the
// mean of the judges' sums, with their sd), and its refusals of data it cannot analyse.
// Tolerance: |ours − R| ≤ 1e-6 · max(1, |R|) — absolute below 1, relative above.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AngoffResult } from '../../shared/analytics.ts';
import { ANGOFF, angoff } from '../../server/analytics/angoff.ts';
import { runCli } from '../../server/analytics/cli.ts';
import { readCsv } from '../../server/analytics/input.ts';
import { expectCloseToR, FIXTURES, readFixture } from '../analytics/close-to-r.ts';
import { analyseAsProcess } from '../analytics/cli-process.ts';

function expectMatchesR(result: AngoffResult, expected: AngoffResult): void {
  expect(Object.keys(result)).toEqual(['items', 'cut', 'sd', 'judges']);
  expect(result.items.map((i) => i.item)).toEqual(expected.items.map((i) => i.item));
  result.items.forEach((got, i) => {
    const want = expected.items[i]!;
    expect(Object.keys(got)).toEqual(['item', 'cut', 'sd', 'judges']);
    expect(got.judges).toBe(want.judges);
    expectCloseToR(got.cut, want.cut, `${want.item} cut`);
    expectCloseToR(got.sd, want.sd, `${want.item} sd`);
  });
  expectCloseToR(result.cut, expected.cut, 'cut');
  expectCloseToR(result.sd, expected.sd, 'sd');
  expect(result.judges).toBe(expected.judges);
}

describe('angoff matches R', () => {
  for (const name of ['angoff-small', 'angoff-cohort']) {
    it(`${name}.csv through the CLI`, () => {
      const outcome = runCli(['angoff', `${name}.csv`], readFixture);
      expect(outcome.stderr).toBe('');
      expect(outcome.code).toBe(0);
      expectMatchesR(JSON.parse(outcome.stdout) as AngoffResult, JSON.parse(readFixture(`${name}.expected.json`)) as AngoffResult);
    });

    it(`${name}.csv through the core function`, () => {
      const estimates = readCsv(readFixture(`${name}.csv`), ANGOFF.columns).map((row) => ({
        judge: row.cells['judge']!,
        item: row.cells['item']!,
        estimate: Number(row.cells['estimate']),
      }));
      expectMatchesR(angoff(estimates), JSON.parse(readFixture(`${name}.expected.json`)) as AngoffResult);
    });
  }

  it('gives the hand-computed cut of the small panel', () => {
    // Judges' sums 2.7, 2.8, 2.8, 2.85: mean 2.7875.
    const result = JSON.parse(runCli(['angoff', 'angoff-small.csv'], readFixture).stdout) as AngoffResult;
    expect(result.cut).toBeCloseTo(2.7875, 12);
    expect(result.judges).toBe(4);
  });
});

describe('angoff refuses what it cannot analyse (one line, code 2)', () => {
  const table: Array<{ what: string; csv: string; error: string }> = [
    {
      what: 'an estimate that is not a number',
      csv: 'judge,item,estimate\nJ1,Q1,0.5\nJ2,Q1,half\n',
      error: 'analyse: in.csv: row 3, column "estimate": "half" is not a number\n',
    },
    {
      what: 'a negative estimate',
      csv: 'judge,item,estimate\nJ1,Q1,0.5\nJ2,Q1,-0.2\n',
      error: 'analyse: in.csv: row 3, column "estimate": -0.2 is below 0\n',
    },
    {
      what: 'an empty judge',
      csv: 'judge,item,estimate\n,Q1,0.5\n',
      error: 'analyse: in.csv: row 2, column "judge": is empty\n',
    },
    {
      what: 'a missing estimate column',
      csv: 'judge,item\nJ1,Q1\n',
      error: 'analyse: in.csv: row 1, column "estimate": the header lacks "estimate" (expected "judge,item,estimate")\n',
    },
    {
      what: 'a second estimate by one judge for one item',
      csv: 'judge,item,estimate\nJ1,Q1,0.5\nJ2,Q1,0.6\nJ1,Q1,0.7\n',
      error: 'analyse: in.csv: row 4, column "item": judge "J1" has a second estimate for item "Q1": one row per judge and item\n',
    },
    {
      what: 'a judge missing an item',
      csv: 'judge,item,estimate\nJ1,Q1,0.5\nJ1,Q2,0.6\nJ1,Q3,0.4\nJ2,Q1,0.6\nJ2,Q3,0.5\n',
      error: 'analyse: in.csv: column "item": judge "J2" has no estimate for item "Q2": every judge must estimate every item\n',
    },
    {
      what: 'a single judge',
      csv: 'judge,item,estimate\nJ1,Q1,0.5\nJ1,Q2,0.6\n',
      error: 'analyse: in.csv: column "judge": needs estimates from at least 2 judges (found 1: "J1")\n',
    },
  ];
  for (const t of table) {
    it(t.what, () => {
      expect(runCli(['angoff', 'in.csv'], () => t.csv)).toEqual({ code: 2, stdout: '', stderr: t.error });
    });
  }
});

it('prints exactly one JSON document and nothing on stderr as a child process', async () => {
  const result = analyseAsProcess<AngoffResult>(['angoff', path.join(FIXTURES, 'angoff-cohort.csv')]);
  expectMatchesR(result, JSON.parse(readFixture('angoff-cohort.expected.json')) as AngoffResult);
});
