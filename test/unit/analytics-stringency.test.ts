// `stringency` against R (test/analytics/r/stringency.R wrote the expected JSON from lm() with
// contr.sum raters and vcov()), and its refusals of data it cannot analyse.
// Tolerance: |ours − R| ≤ 1e-6 · max(1, |R|) — absolute below 1, relative above.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StringencyResult } from '../../shared/analytics.ts';
import { runCli } from '../../server/analytics/cli.ts';
import { readCsv } from '../../server/analytics/input.ts';
import { STRINGENCY, stringency, type Rating } from '../../server/analytics/stringency.ts';
import { expectCloseToR, FIXTURES, readFixture } from '../analytics/close-to-r.ts';
import { analyseAsProcess } from '../analytics/cli-process.ts';


function expectMatchesR(result: StringencyResult, expected: StringencyResult): void {
  expect(result.raters.map((r) => r.rater).sort()).toEqual(expected.raters.map((r) => r.rater).sort());
  for (const want of expected.raters) {
    const got = result.raters.find((r) => r.rater === want.rater)!;
    expect(Object.keys(got)).toEqual(['rater', 'n', 'effect', 'se', 'z', 'flag']);
    expect(got.n).toBe(want.n);
    expectCloseToR(got.effect, want.effect, `${want.rater} effect`);
    expectCloseToR(got.se, want.se, `${want.rater} se`);
    expectCloseToR(got.z, want.z, `${want.rater} z`);
    expect(got.flag, `${want.rater} flag`).toBe(want.flag);
  }
}

const cases = [
  { csv: 'stringency-small.csv', args: [], expected: 'stringency-small.expected.json' },
  { csv: 'stringency-scenario-small.csv', args: ['--by', 'scenario'], expected: 'stringency-scenario-small.expected.json' },
  { csv: 'stringency-cohort.csv', args: [], expected: 'stringency-cohort.expected.json' },
  { csv: 'stringency-cohort.csv', args: ['--by', 'scenario'], expected: 'stringency-cohort.by-scenario.expected.json' },
];

describe('stringency matches R', () => {
  for (const c of cases) {
    it(`${c.csv} ${c.args.join(' ')} through the CLI`, () => {
      const outcome = runCli(['stringency', c.csv, ...c.args], readFixture);
      expect(outcome.stderr).toBe('');
      expect(outcome.code).toBe(0);
      expectMatchesR(JSON.parse(outcome.stdout) as StringencyResult, JSON.parse(readFixture(c.expected)) as StringencyResult);
    });

    it(`${c.csv} ${c.args.join(' ')} through the core function`, () => {
      const byScenario = c.args.includes('scenario');
      const ratings: Rating[] = readCsv(readFixture(c.csv), byScenario ? ['candidate', 'rater', 'score', 'scenario'] : ['candidate', 'rater', 'score']).map((row) => ({
        candidate: row.cells['candidate']!,
        rater: row.cells['rater']!,
        score: Number(row.cells['score']),
        ...(byScenario ? { scenario: row.cells['scenario']! } : {}),
      }));
      expectMatchesR(stringency(ratings, { byScenario }), JSON.parse(readFixture(c.expected)) as StringencyResult);
    });
  }

  it('finds the planted hawk (R03) and dove (R07) in the generated cohort', () => {
    const result = JSON.parse(runCli(['stringency', 'stringency-cohort.csv'], readFixture).stdout) as StringencyResult;
    expect(result.raters.find((r) => r.rater === 'R03')!.flag).toBe('hawk');
    expect(result.raters.find((r) => r.rater === 'R07')!.flag).toBe('dove');
    // Sum-to-zero coding: the effects, the implicit rater's included, add up to zero.
    expectCloseToR(result.raters.reduce((s, r) => s + r.effect, 0), 0, 'sum of effects');
  });

  it('keeps rater effects when scenario is only aliased with candidates (one scenario per candidate)', () => {
    // Each candidate sits one scenario: scenario effects are not estimable, rater effects are, and
    // equal those of the model without scenario (R's lm() leaves the scenario columns NA).
    const ratings = readCsv(readFixture('stringency-small.csv'), ['candidate', 'rater', 'score']).map((row) => ({
      candidate: row.cells['candidate']!,
      rater: row.cells['rater']!,
      score: Number(row.cells['score']),
      scenario: Number(row.cells['candidate']!.slice(1)) % 2 === 0 ? 'S2' : 'S1',
    }));
    const withScenario = stringency(ratings, { byScenario: true });
    const expected = JSON.parse(readFixture('stringency-small.expected.json')) as StringencyResult;
    expectMatchesR(withScenario, expected);
  });
});

describe('stringency refuses what it cannot analyse (one line, code 2)', () => {
  const refusal = (csv: string, args: string[] = []): { code: number; stderr: string; stdout: string } =>
    runCli(['stringency', 'in.csv', ...args], () => csv);

  const table: Array<{ what: string; csv: string; args?: string[]; error: string }> = [
    {
      what: 'a score that is not a number',
      csv: 'candidate,rater,score\nc1,A,5\nc1,B,five\n',
      error: 'analyse: in.csv: row 3, column "score": "five" is not a number\n',
    },
    {
      what: 'an empty rater',
      csv: 'candidate,rater,score\nc1,A,5\nc1,,4\n',
      error: 'analyse: in.csv: row 3, column "rater": is empty\n',
    },
    {
      what: 'a missing score column',
      csv: 'candidate,rater\nc1,A\n',
      error: 'analyse: in.csv: row 1, column "score": the header lacks "score" (expected "candidate,rater,score")\n',
    },
    {
      what: '--by scenario without a scenario column',
      csv: 'candidate,rater,score\nc1,A,5\n',
      args: ['--by', 'scenario'],
      error: 'analyse: in.csv: row 1, column "scenario": the header lacks "scenario" (expected "candidate,rater,score,scenario")\n',
    },
    {
      what: '--by something else',
      csv: 'candidate,rater,score\nc1,A,5\n',
      args: ['--by', 'station'],
      error: 'analyse: in.csv: --by takes "scenario" (got "station")\n',
    },
    {
      what: 'a single rater',
      csv: 'candidate,rater,score\nc1,A,5\nc2,A,4\nc3,A,6\n',
      error: 'analyse: in.csv: column "rater": needs ratings by at least 2 raters (found 1: "A")\n',
    },
    {
      what: 'a constant score column',
      csv: 'candidate,rater,score\nc1,A,5\nc1,B,5\nc2,A,5\nc2,B,5\n',
      error: 'analyse: in.csv: column "score": every score is 5: needs scores that vary\n',
    },
    {
      what: 'raters in two groups that share no candidate',
      csv: 'candidate,rater,score\nc1,A,5\nc1,B,6\nc2,A,4\nc2,B,4\nc3,C,6\nc3,D,7\nc4,C,3\nc4,D,5\n',
      error:
        'analyse: in.csv: column "rater": rater effects are not estimable: the raters fall into 2 groups that share no candidate ({"A", "B"} and {"C", "D"}); every rater must be linked to the others through candidates rated by both\n',
    },
    {
      what: 'raters confounded with scenario',
      // A and B only ever score S1, C only S2: no rater's deviation from the average is separable.
      csv: 'candidate,rater,score,scenario\nc1,A,5,S1\nc1,B,6,S1\nc1,C,7,S2\nc2,A,4,S1\nc2,B,4,S1\nc2,C,6,S2\nc3,A,6,S1\nc3,C,3,S2\nc3,B,2,S1\n',
      args: ['--by', 'scenario'],
      error:
        'analyse: in.csv: column "scenario": rater effects are not estimable with the scenario term: the effects of raters "A", "B", "C" cannot be separated from scenario effects; raters need to score scenarios that other raters score too\n',
    },
    {
      what: 'scores the model fits exactly (B always one above A)',
      csv: 'candidate,rater,score\nc1,A,5\nc1,B,6\nc2,A,3\nc2,B,4\nc3,A,7\nc3,B,8\n',
      error:
        'analyse: in.csv: the model fits every score exactly (no residual variation), so standard errors are undefined: needs candidates rated by more than one rater whose scores are not exactly additive\n',
    },
    {
      what: 'no more ratings than parameters',
      csv: 'candidate,rater,score\nc1,A,5\nc1,B,6\nc2,A,4\n',
      error: 'analyse: in.csv: needs more ratings than the model has parameters (3 ratings, 3 parameters: 1 + 1 candidates + 1 raters)\n',
    },
  ];
  for (const t of table) {
    it(t.what, () => {
      const outcome = refusal(t.csv, t.args);
      expect(outcome).toEqual({ code: 2, stdout: '', stderr: t.error });
    });
  }

  it('names in the core function every rater whose effect one confounded rater hides', () => {
    // A, B, C cross scenarios with each other; D only ever scores S3, which only D scores: D's
    // effect is lost in S3's, and with it the average rater every other effect is measured from.
    const rows: Rating[] = [];
    const add = (candidate: string, rater: string, score: number, scenario: string): void => void rows.push({ candidate, rater, score, scenario });
    add('c1', 'A', 5, 'S1'), add('c1', 'B', 6, 'S2'), add('c1', 'D', 4, 'S3');
    add('c2', 'A', 4, 'S2'), add('c2', 'C', 6, 'S1'), add('c2', 'D', 7, 'S3');
    add('c3', 'B', 6, 'S1'), add('c3', 'C', 3, 'S2'), add('c3', 'A', 5, 'S1');
    add('c4', 'C', 5, 'S1'), add('c4', 'B', 7, 'S2');
    expect(() => stringency(rows, { byScenario: true })).toThrow(/the effects of raters "A", "B", "D", "C" cannot be separated/);
  });
});

it('prints exactly one JSON document and nothing on stderr as a child process', async () => {
  const result = analyseAsProcess<StringencyResult>(['stringency', path.join(FIXTURES, 'stringency-cohort.csv'), '--by', 'scenario']);
  expectMatchesR(result, JSON.parse(readFixture('stringency-cohort.by-scenario.expected.json')) as StringencyResult);
});

it('is registered under its name', () => {
  expect(STRINGENCY.name).toBe('stringency');
});
