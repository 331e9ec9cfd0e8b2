// `brm` against R (test/analytics/r/brm.R: lm(score ~ global) per station, psych::alpha's raw
// alpha, SEM = sd(totals)·√(1 − α)), and its refusals of data it cannot analyse.
// Tolerance: |ours − R| ≤ 1e-6 · max(1, |R|) — absolute below 1, relative above.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BrmResult } from '../../shared/analytics.ts';
import { BRM, brm, DEFAULT_BORDERLINE_GLOBAL, type StationMark } from '../../server/analytics/brm.ts';
import { runCli } from '../../server/analytics/cli.ts';
import { readCsv } from '../../server/analytics/input.ts';
import { expectCloseToR, FIXTURES, readFixture } from '../analytics/close-to-r.ts';
import { analyseAsProcess } from '../analytics/cli-process.ts';

function expectMatchesR(result: BrmResult, expected: BrmResult): void {
  expect(Object.keys(result)).toEqual(['stations', 'examCut', 'alpha', 'sem']);
  expect(result.stations.map((s) => s.station)).toEqual(expected.stations.map((s) => s.station));
  result.stations.forEach((got, i) => {
    const want = expected.stations[i]!;
    expect(Object.keys(got)).toEqual(['station', 'n', 'intercept', 'slope', 'r2', 'rmse', 'cut']);
    expect(got.n).toBe(want.n);
    for (const key of ['intercept', 'slope', 'r2', 'rmse', 'cut'] as const) expectCloseToR(got[key], want[key], `${want.station} ${key}`);
  });
  expectCloseToR(result.examCut, expected.examCut, 'examCut');
  expectCloseToR(result.alpha, expected.alpha, 'alpha');
  expectCloseToR(result.sem, expected.sem, 'sem');
}

const cases = [
  { csv: 'brm-small.csv', args: [], options: { borderline: DEFAULT_BORDERLINE_GLOBAL, plusSem: 0 }, expected: 'brm-small.expected.json' },
  { csv: 'brm-cohort.csv', args: [], options: { borderline: DEFAULT_BORDERLINE_GLOBAL, plusSem: 0 }, expected: 'brm-cohort.expected.json' },
  {
    csv: 'brm-cohort.csv',
    args: ['--borderline', '4', '--plus-sem', '1'],
    options: { borderline: 4, plusSem: 1 },
    expected: 'brm-cohort.borderline-4.plus-sem-1.expected.json',
  },
];

describe('brm matches R', () => {
  it('reads the cut at 3.5 by default, between "3 — Borderline fail" and "4 — Borderline pass"', () => {
    expect(DEFAULT_BORDERLINE_GLOBAL).toBe(3.5);
  });

  for (const c of cases) {
    it(`${c.csv} ${c.args.join(' ')} through the CLI`, () => {
      const outcome = runCli(['brm', c.csv, ...c.args], readFixture);
      expect(outcome.stderr).toBe('');
      expect(outcome.code).toBe(0);
      expectMatchesR(JSON.parse(outcome.stdout) as BrmResult, JSON.parse(readFixture(c.expected)) as BrmResult);
    });

    it(`${c.csv} ${c.args.join(' ')} through the core function`, () => {
      const marks: StationMark[] = readCsv(readFixture(c.csv), BRM.columns).map((row) => ({
        candidate: row.cells['candidate']!,
        station: row.cells['station']!,
        score: Number(row.cells['score']),
        global: Number(row.cells['global']),
      }));
      expectMatchesR(brm(marks, c.options), JSON.parse(readFixture(c.expected)) as BrmResult);
    });
  }

  it('counts incomplete candidates in their stations but not in alpha', () => {
    const result = JSON.parse(runCli(['brm', 'brm-small.csv'], readFixture).stdout) as BrmResult;
    // c5 has no "plan" score: 7 candidates at history and risk, 6 at plan.
    expect(result.stations.map((s) => [s.station, s.n])).toEqual([['history', 7], ['risk', 7], ['plan', 6]]);
  });
});

describe('brm refuses what it cannot analyse (one line, code 2)', () => {
  const table: Array<{ what: string; csv: string; args?: string[]; error: string }> = [
    {
      what: 'a global that is not a number',
      csv: 'candidate,station,score,global\nc1,s1,5,3\nc2,s1,6,x\n',
      error: 'analyse: in.csv: row 3, column "global": "x" is not a number\n',
    },
    {
      what: 'a missing global column',
      csv: 'candidate,station,score\nc1,s1,5\n',
      error: 'analyse: in.csv: row 1, column "global": the header lacks "global" (expected "candidate,station,score,global")\n',
    },
    {
      what: 'a second score for one candidate at one station',
      csv: 'candidate,station,score,global\nc1,s1,5,3\nc2,s1,6,4\nc1,s1,7,5\n',
      error: 'analyse: in.csv: row 4, column "station": candidate "c1" has a second score at station "s1": one row per candidate and station\n',
    },
    {
      what: 'a station with two candidates',
      csv: 'candidate,station,score,global\nc1,s1,5,3\nc2,s1,6,4\nc3,s1,8,5\nc1,s2,5,3\nc2,s2,6,4\n',
      error: 'analyse: in.csv: column "station": station "s2" has 2 candidates: the regression needs at least 3\n',
    },
    {
      what: 'a constant global at a station',
      csv: 'candidate,station,score,global\nc1,s1,5,4\nc2,s1,6,4\nc3,s1,8,4\n',
      error: 'analyse: in.csv: column "global": every global at station "s1" is 4: the regression needs globals that vary\n',
    },
    {
      what: 'a constant score at a station',
      csv: 'candidate,station,score,global\nc1,s1,6,3\nc2,s1,6,4\nc3,s1,6,5\n',
      error: 'analyse: in.csv: column "score": every score at station "s1" is 6: the regression needs scores that vary\n',
    },
    {
      what: 'a single station',
      csv: 'candidate,station,score,global\nc1,s1,5,3\nc2,s1,6,4\nc3,s1,8,5\n',
      error: 'analyse: in.csv: column "station": needs at least 2 stations for Cronbach\'s alpha (found 1: "s1")\n',
    },
    {
      what: 'fewer than two complete candidates',
      csv: 'candidate,station,score,global\nc1,s1,5,3\nc2,s1,6,4\nc3,s1,8,5\nc3,s2,5,3\nc4,s2,6,4\nc5,s2,8,6\n',
      error: "analyse: in.csv: column \"candidate\": needs at least 2 candidates with a score at every one of the 2 stations for Cronbach's alpha (found 1)\n",
    },
    {
      what: 'a borderline that is not a number',
      csv: 'candidate,station,score,global\nc1,s1,5,3\n',
      args: ['--borderline', 'three'],
      error: 'analyse: in.csv: --borderline takes a number (got "three")\n',
    },
    {
      what: 'a --plus-sem that is not a number',
      csv: 'candidate,station,score,global\nc1,s1,5,3\n',
      args: ['--plus-sem', ''],
      error: 'analyse: in.csv: --plus-sem takes a number (got "")\n',
    },
  ];
  for (const t of table) {
    it(t.what, () => {
      expect(runCli(['brm', 'in.csv', ...(t.args ?? [])], () => t.csv)).toEqual({ code: 2, stdout: '', stderr: t.error });
    });
  }
});

it('prints exactly one JSON document and nothing on stderr as a child process', async () => {
  const result = analyseAsProcess<BrmResult>(['brm', path.join(FIXTURES, 'brm-cohort.csv'), '--borderline', '4', '--plus-sem', '1']);
  expectMatchesR(result, JSON.parse(readFixture('brm-cohort.borderline-4.plus-sem-1.expected.json')) as BrmResult);
});
