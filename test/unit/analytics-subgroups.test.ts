// `npm run analyse -- subgroups` against R's prop.test (Wilson, no continuity correction) and
// fisher.test on committed fixtures (test/analytics/r/subgroups.R writes the expected JSON).
// Every number must agree with R to a relative 1e-6 (|ours − R| ≤ 1e-6·|R|), which for p-values
// and interval ends below 1 is stricter than an absolute 1e-6.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../server/analytics/cli.ts';
import { fisherExactP } from '../../server/analytics/fisher-exact.ts';
import { readCsv } from '../../server/analytics/input.ts';
import { subgroups, subgroupsAnalysis } from '../../server/analytics/subgroups.ts';
import type { SubgroupsResult } from '../../shared/analytics.ts';
import { analyseAsProcess } from '../analytics/cli-process.ts';

const FIXTURES = path.join(import.meta.dirname, '../analytics/fixtures');
const FIXTURE_NAMES = ['subgroups-small', 'subgroups-cohort'];
const SHOWN_KEYS = ['group', 'n', 'passed', 'rate', 'ci95', 'ratio', 'suppressed'];

type ExpectedGroup = { group: string; suppressed: true } | { group: string; n: number; passed: number; rate: number; ci95: [number, number]; ratio: number | null; suppressed: false };

const readFixture = (file: string): string => fs.readFileSync(file, 'utf8');
const expectClose = (actual: number, expected: number, what: string): void => {
  expect(Math.abs(actual - expected), `${what}: ${actual} against R's ${expected}`).toBeLessThanOrEqual(1e-6 * Math.abs(expected));
};

describe.each(FIXTURE_NAMES)('subgroups on %s matches R', (name) => {
  const csv = path.join(FIXTURES, `${name}.csv`);
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as {
    characteristics: Array<{ characteristic: string; groups: ExpectedGroup[]; fisherP: number | null }>;
  };

  it('prints the contract through the CLI, every number as R has it', () => {
    const outcome = runCli(['subgroups', csv], readFixture);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout) as SubgroupsResult;
    expect(Object.keys(result)).toEqual(['characteristics']);
    expect(result.characteristics.map((c) => c.characteristic)).toEqual(expected.characteristics.map((c) => c.characteristic));
    result.characteristics.forEach((characteristic, index) => {
      const r = expected.characteristics[index]!;
      const where = characteristic.characteristic;
      expect(Object.keys(characteristic)).toEqual(['characteristic', 'groups', 'fisherP']);
      expect(characteristic.groups.map((g) => g.group)).toEqual(r.groups.map((g) => g.group));
      characteristic.groups.forEach((group, g) => {
        const rg = r.groups[g]!;
        if (rg.suppressed) {
          // Nothing but the name: no count, rate or interval can leak a small group.
          expect(group).toEqual({ group: rg.group, suppressed: true });
          expect(Object.keys(group)).toEqual(['group', 'suppressed']);
          return;
        }
        expect(Object.keys(group)).toEqual(SHOWN_KEYS);
        if (group.suppressed) throw new Error(`${where} ${group.group} is suppressed, R shows it`);
        expect([group.n, group.passed], `${where} ${group.group} n, passed`).toEqual([rg.n, rg.passed]);
        expectClose(group.rate, rg.rate, `${where} ${group.group} rate`);
        expectClose(group.ci95[0], rg.ci95[0], `${where} ${group.group} ci95 low`);
        expectClose(group.ci95[1], rg.ci95[1], `${where} ${group.group} ci95 high`);
        if (rg.ratio === null) expect(group.ratio).toBeNull();
        else expectClose(group.ratio!, rg.ratio, `${where} ${group.group} ratio`);
      });
      if (r.fisherP === null) expect(characteristic.fisherP, `${where} fisherP`).toBeNull();
      else expectClose(characteristic.fisherP!, r.fisherP, `${where} fisherP`);
    });
  });

  it('gives the same from the core function', () => {
    const records = readCsv(readFixture(csv), subgroupsAnalysis.columns).map((row) => ({
      candidate: row.cells.candidate!,
      characteristic: row.cells.characteristic!,
      group: row.cells.group!,
      passed: Number(row.cells.passed) as 0 | 1,
    }));
    expect(subgroups(records)).toEqual(JSON.parse(runCli(['subgroups', csv], readFixture).stdout));
  });
});

describe('subgroups fixtures cover what they claim', () => {
  it('suppress a group in every characteristic of the small one, and leave "first language" a single shown group', () => {
    const result = JSON.parse(runCli(['subgroups', path.join(FIXTURES, 'subgroups-small.csv')], readFixture).stdout) as SubgroupsResult;
    for (const c of result.characteristics.filter((c) => c.characteristic !== 'disability')) expect(c.groups.some((g) => g.suppressed), c.characteristic).toBe(true);
    expect(result.characteristics.find((c) => c.characteristic === 'first language')!.fisherP).toBeNull();
  });

  it('find the planted lower pass rate in the cohort below four fifths of the highest', () => {
    const result = JSON.parse(runCli(['subgroups', path.join(FIXTURES, 'subgroups-cohort.csv')], readFixture).stdout) as SubgroupsResult;
    const ethnicity = result.characteristics.find((c) => c.characteristic === 'ethnicity')!;
    expect(ethnicity.groups.filter((g) => !g.suppressed)).toHaveLength(9);
    const lowest = ethnicity.groups.flatMap((g) => (g.suppressed ? [] : [g])).sort((a, b) => a.ratio! - b.ratio!)[0]!;
    expect(lowest.group).toBe('Black African');
    expect(lowest.ratio).toBeLessThan(0.8);
    // and no other group of any characteristic falls below four fifths
    const below = result.characteristics.flatMap((c) => c.groups.flatMap((g) => (!g.suppressed && g.ratio! < 0.8 ? [g.group] : [])));
    expect(below).toEqual(['Black African']);
    expect(ethnicity.fisherP).toBeLessThan(0.05);
  });
});

describe("Fisher's exact test on r×2 tables", () => {
  const tables = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'fisher-tables.expected.json'), 'utf8')) as Array<{ passed: number[]; failed: number[]; p: number }>;

  it.each(tables.map((t) => [`${t.passed.length} groups, ${t.passed.reduce((a, b) => a + b, 0) + t.failed.reduce((a, b) => a + b, 0)} candidates`, t] as const))(
    'matches R on %s',
    (_what, table) => {
      const p = fisherExactP(table.passed.map((passed, i) => ({ passed, failed: table.failed[i]! })));
      expectClose(p, table.p, `fisher p of ${JSON.stringify(table)}`);
    },
  );

  it('does not depend on the order of the groups', () => {
    const rows = tables[3]!.passed.map((passed, i) => ({ passed, failed: tables[3]!.failed[i]! }));
    expectClose(fisherExactP([...rows].reverse()), fisherExactP(rows), 'reversed');
  });
});

describe('subgroups suppression and ratios', () => {
  const records = (group: string, n: number, passes: number, characteristic = 'age band') =>
    Array.from({ length: n }, (_, i) => ({ candidate: `${group}-${i}`, characteristic, group, passed: (i < passes ? 1 : 0) as 0 | 1 }));

  it('shows a group of 10 and suppresses a group of 9, which also leaves the comparisons', () => {
    const result = subgroups([...records('ten', 10, 3), ...records('nine', 9, 9), ...records('twenty', 20, 12)]);
    const [ten, nine, twenty] = result.characteristics[0]!.groups;
    expect(nine).toEqual({ group: 'nine', suppressed: true });
    // The highest shown rate is twenty's 0.6, not nine's 1.
    expect(ten).toMatchObject({ group: 'ten', n: 10, passed: 3, rate: 0.3, ratio: 0.5, suppressed: false });
    expect(twenty).toMatchObject({ n: 20, passed: 12, ratio: 1 });
    expect(result.characteristics[0]!.fisherP).toBe(fisherExactP([{ passed: 3, failed: 7 }, { passed: 12, failed: 8 }]));
  });

  it('has no ratio when no shown group has a pass, and Fisher p 1', () => {
    const result = subgroups([...records('a', 10, 0), ...records('b', 12, 0), ...records('c', 3, 3)]);
    expect(result.characteristics[0]!.groups.map((g) => (g.suppressed ? 'suppressed' : g.ratio))).toEqual([null, null, 'suppressed']);
    expect(result.characteristics[0]!.fisherP).toBe(1);
  });
});

describe('subgroups refuses bad input with one line naming the row and column', () => {
  const header = 'candidate,characteristic,group,passed';
  const run = (text: string) => runCli(['subgroups', 'in.csv'], () => text);

  it.each([
    ['an empty file', '', 'row 1: the file is empty: expected a header "candidate,characteristic,group,passed"'],
    ['a header and no rows', `${header}\n`, 'row 2: the file has a header but no rows'],
    ['a candidate listed twice for one characteristic', `${header}\nc1,sex,female,1\nc1,age band,16-29,1\nc1,sex,male,1\n`, 'row 4, column "candidate": candidate "c1" is listed twice for "sex" (also on row 2)'],
    ['a passed that is not 0/1', `${header}\nc1,sex,female,yes\n`, 'row 2, column "passed": "yes" is not 0 or 1'],
    ['an empty group', `${header}\nc1,sex,,1\n`, 'row 2, column "group": is empty'],
    ['a missing column', 'candidate,characteristic,passed\nc1,sex,1\n', 'row 1, column "group": the header lacks "group" (expected "candidate,characteristic,group,passed")'],
  ])('%s', (_what, text, message) => {
    expect(run(text)).toEqual({ code: 2, stdout: '', stderr: `analyse: in.csv: ${message}\n` });
  });
});

describe('subgroups as a real process', () => {
  it('prints exactly one JSON document on stdout and nothing on stderr', () => {
    expect(analyseAsProcess<SubgroupsResult>(['subgroups', path.join(FIXTURES, 'subgroups-cohort.csv')]).characteristics).toHaveLength(5);
  });
});
