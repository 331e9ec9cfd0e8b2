// `reliability`: the CLI and the core function against R (psych::ICC, psych::cohen.kappa and
// base-R formulas: test/analytics/r/reliability.R wrote the committed *.expected.json), against
// the values Shrout & Fleiss (1979) published, on degenerate data, and on bad input.
// Tolerance against R: |ours − R| ≤ 1e-6 absolute for every number. Every value here is an
// ICC, κ, proportion or interval bound of order 1 (the widest, an ICC1k lower bound, is −0.88),
// so an absolute bound is at least as strict as a relative one for all |values| ≥ 1, and near 0
// (a κ of −0.03) a relative bound would demand more digits than the quantity has meaning.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ICC_FORMS, type ReliabilityResult } from '../../shared/analytics.ts';
import { fleissKappa } from '../../server/analytics/agreement.ts';
import { runCli } from '../../server/analytics/cli.ts';
import { reliability, type Rating } from '../../server/analytics/reliability.ts';
import { analyseAsProcess } from '../analytics/cli-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(ROOT, 'test/analytics/fixtures');
const TOLERANCE = 1e-6;
const readFile = (file: string): string => fs.readFileSync(file, 'utf8');
const fixture = (name: string): string => path.join(FIXTURES, `reliability-${name}.csv`);
const expected = (name: string): ReliabilityResult => JSON.parse(readFile(path.join(FIXTURES, `reliability-${name}.expected.json`))) as ReliabilityResult;

/** The fixtures are plain (no quoting), so a split is an independent reading of them. */
function ratingsOf(name: string): Rating[] {
  const [header, ...lines] = readFile(fixture(name)).trim().split('\n');
  expect(header).toBe('candidate,rater,item,score');
  return lines.map((line) => {
    const [candidate, rater, item, score] = line.split(',');
    return { candidate: candidate!, rater: rater!, item: item!, score: Number(score) };
  });
}

/** Same keys in the same order, same strings and nulls, numbers within TOLERANCE; returns the largest gap. */
function compare(actual: unknown, reference: unknown, at = '$'): number {
  if (typeof reference === 'number') {
    expect(typeof actual, at).toBe('number');
    const gap = Math.abs((actual as number) - reference);
    expect(gap, `${at}: ${String(actual)} vs R ${reference}`).toBeLessThanOrEqual(TOLERANCE);
    return gap;
  }
  if (reference === null || typeof reference === 'string') {
    expect(actual, at).toBe(reference);
    return 0;
  }
  if (Array.isArray(reference)) {
    expect(Array.isArray(actual), at).toBe(true);
    expect((actual as unknown[]).length, at).toBe(reference.length);
    return Math.max(0, ...reference.map((r, i) => compare((actual as unknown[])[i], r, `${at}[${i}]`)));
  }
  const referenceObject = reference as Record<string, unknown>;
  expect(Object.keys(actual as object), at).toEqual(Object.keys(referenceObject));
  return Math.max(0, ...Object.keys(referenceObject).map((key) => compare((actual as Record<string, unknown>)[key], referenceObject[key], `${at}.${key}`)));
}

const cli = (...args: string[]) => runCli(['reliability', ...args], readFile);

describe('reliability against R', () => {
  for (const name of ['shrout-fleiss', 'small', 'cohort']) {
    it(`${name}: the CLI with --pairs matches R to 1e-6`, () => {
      const outcome = cli(fixture(name), '--pairs');
      expect(outcome.stderr).toBe('');
      expect(outcome.code).toBe(0);
      const gap = compare(JSON.parse(outcome.stdout), expected(name));
      expect(gap).toBeLessThan(TOLERANCE);
    });

    it(`${name}: the core function matches R to 1e-6`, () => {
      compare(reliability(ratingsOf(name), { pairs: true }), expected(name));
    });
  }

  it('counts the complete candidates and the dropped ones per item (cohort: every item lost some)', () => {
    const result = expected('cohort');
    expect(result.items.map((i) => i.item)).toEqual(['engagement', 'assessment', 'risk', 'global']);
    expect(result.items.every((i) => i.candidates + i.dropped === 96 && i.dropped > 0)).toBe(true);
  });

  it('without --pairs the result has no pairs and the same numbers', () => {
    const outcome = cli(fixture('small'));
    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout) as ReliabilityResult;
    const reference = expected('small');
    for (const item of reference.items) delete item.pairs;
    compare(result, reference);
    expect(result.items.every((item) => !('pairs' in item))).toBe(true);
  });

  it('does not depend on the order of the rows', () => {
    const forward = reliability(ratingsOf('cohort'), { pairs: true });
    const backward = reliability(ratingsOf('cohort').reverse(), { pairs: true });
    for (const item of forward.items) {
      const other = backward.items.find((i) => i.item === item.item)!;
      for (const form of ICC_FORMS) {
        expect(other.icc[form]).toBeCloseTo(item.icc[form]!, 12);
        expect(other.ci95[form][0]).toBeCloseTo(item.ci95[form][0]!, 12);
      }
      expect(other.fleissKappa).toBeCloseTo(item.fleissKappa!, 12);
      expect([other.candidates, other.dropped]).toEqual([item.candidates, item.dropped]);
    }
  });
});

describe('reliability against Shrout & Fleiss (1979), Table 2', () => {
  it('gives the published ICCs .17 .29 .71 .44 .62 .91 to two decimals', () => {
    const outcome = cli(fixture('shrout-fleiss'));
    const [item] = (JSON.parse(outcome.stdout) as ReliabilityResult).items;
    expect(item).toMatchObject({ item: 'table2', candidates: 6, dropped: 0, raters: 4 });
    expect(ICC_FORMS.map((form) => item!.icc[form]!.toFixed(2))).toEqual(['0.17', '0.29', '0.71', '0.44', '0.62', '0.91']);
  });
});

describe("Fleiss' κ against a worked example", () => {
  it('gives κ = 0.210 on the 10 subjects × 14 raters × 5 categories example (Wikipedia, "Fleiss\' kappa")', () => {
    // Per subject, how many of the 14 raters chose each category 1..5.
    const counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]];
    const ratings = counts.map((row) => row.flatMap((n, category) => Array<number>(n).fill(category + 1)));
    expect(fleissKappa(ratings)!.toFixed(3)).toBe('0.210');
  });
});

describe('reliability on degenerate data', () => {
  const table = (item: string, rows: number[][]): Rating[] =>
    rows.flatMap((scores, c) => scores.map((score, r) => ({ candidate: `c${c}`, rater: `r${r}`, item, score })));

  it('every score identical: the ICCs and Fleiss κ are 0/0, so null; agreement is total', () => {
    const [item] = reliability(table('same', [[3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]]), { pairs: true }).items;
    for (const form of ICC_FORMS) {
      expect(item!.icc[form]).toBeNull();
      expect(item!.ci95[form]).toEqual([null, null]);
    }
    expect(item!.fleissKappa).toBeNull();
    expect([item!.exactAgreement, item!.adjacentAgreement]).toEqual([1, 1]);
    expect(item!.pairs!.map((p) => [p.linear, p.quadratic])).toEqual([[null, null], [null, null], [null, null]]);
    expect(JSON.parse(JSON.stringify(item))).toEqual(item);
  });

  it('perfect agreement: every ICC and κ is 1; the F-ratios are infinite, so no interval', () => {
    const [item] = reliability(table('perfect', [[1, 1], [2, 2], [4, 4], [3, 3]]), { pairs: true }).items;
    expect(ICC_FORMS.map((form) => item!.icc[form])).toEqual([1, 1, 1, 1, 1, 1]);
    for (const form of ICC_FORMS) expect(item!.ci95[form]).toEqual([null, null]);
    expect(item!.fleissKappa).toBe(1);
    expect(item!.pairs).toEqual([{ raters: ['r0', 'r1'], candidates: 4, linear: 1, quadratic: 1 }]);
  });

  it('one rater a constant point above the other: consistency (ICC3) is 1 without an interval, agreement (ICC1, ICC2) is not', () => {
    const [item] = reliability(table('offset', [[1, 2], [2, 3], [4, 5], [3, 4]])).items;
    expect(item!.icc.ICC3).toBe(1);
    expect(item!.ci95.ICC3).toEqual([null, null]);
    expect(item!.ci95.ICC2).toEqual([null, null]);
    expect(item!.icc.ICC1).toBeLessThan(1);
    expect(item!.icc.ICC2).toBeLessThan(1);
    const [low, high] = item!.ci95.ICC1;
    expect(low).toBeLessThan(item!.icc.ICC1!);
    expect(high).toBeGreaterThan(item!.icc.ICC1!);
    expect([item!.exactAgreement, item!.adjacentAgreement]).toEqual([0, 1]);
  });
});

describe('reliability refuses bad input with one line and exit code 2', () => {
  const refusal = (csv: string, ...options: string[]) => runCli(['reliability', 'in.csv', ...options], () => csv);
  const good = 'candidate,rater,item,score\nc1,A,x,1\nc1,B,x,2\nc2,A,x,3\nc2,B,x,3\n';

  it('accepts the good file these cases start from', () => {
    expect(refusal(good).code).toBe(0);
  });

  const cases: Array<[string, string, string]> = [
    ['a non-numeric score', good.replace('c2,A,x,3', 'c2,A,x,three'), 'analyse: in.csv: row 4, column "score": "three" is not a number\n'],
    ['an empty score', good.replace('c1,B,x,2', 'c1,B,x,'), 'analyse: in.csv: row 3, column "score": "" is not a number\n'],
    ['an empty rater', good.replace('c1,B,x,2', 'c1,,x,2'), 'analyse: in.csv: row 3, column "rater": is empty\n'],
    ['a missing column', good.replace('candidate,rater,item,score', 'candidate,rater,score').replace(/,x,/g, ','), 'analyse: in.csv: row 1, column "item": the header lacks "item" (expected "candidate,rater,item,score")\n'],
    [
      'a rater scoring a candidate twice on an item',
      `${good}c1,A,x,2\n`,
      'analyse: in.csv: row 6, column "rater": rater "A" scored candidate "c1" on item "x" twice (first at row 2); keep one score per candidate, rater and item\n',
    ],
    [
      'an item with a single rater',
      `${good}c1,A,y,1\nc2,A,y,2\n`,
      'analyse: in.csv: row 6, column "rater": item "y" has a single rater ("A"); reliability needs at least 2 raters per item\n',
    ],
    [
      'an item with fewer than 2 complete candidates',
      `${good}c1,A,y,1\nc1,B,y,2\nc2,A,y,2\nc3,B,y,1\n`,
      'analyse: in.csv: row 6, column "candidate": item "y" has 1 candidate scored by all 2 of its raters; reliability needs at least 2\n',
    ],
  ];
  for (const [what, csv, line] of cases) {
    it(`refuses ${what}`, () => {
      const outcome = refusal(csv, '--pairs');
      expect(outcome).toEqual({ code: 2, stdout: '', stderr: line });
    });
  }

  it('refuses an unknown option', () => {
    expect(refusal(good, '--pair')).toMatchObject({ code: 2, stdout: '' });
    expect(refusal(good, '--pair').stderr).toMatch(/^analyse: .*--pair.*\n$/);
  });
});

describe('reliability as a real process', () => {
  it('node server/analytics/cli.ts reliability prints exactly one JSON document and nothing on stderr', () => {
    compare(analyseAsProcess(['reliability', fixture('small'), '--pairs']), expected('small'));
  });
});
