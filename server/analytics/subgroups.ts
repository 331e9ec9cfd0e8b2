// Pass rates by protected characteristic for equalities monitoring: per group the rate with its
// Wilson 95% interval and its ratio to the highest group's rate (the four-fifths rule), Fisher's
// exact test across the groups, and small groups suppressed (no numbers at all).
import type { SubgroupCharacteristic, SubgroupRow, SubgroupsResult } from '../../shared/analytics.ts';
import type { Analysis } from './analysis.ts';
import { fisherExactP } from './fisher-exact.ts';
import { AnalysisInputError, binaryCell, labelCell, type CsvRow } from './input.ts';
import { wilsonInterval } from './wilson.ts';

/** Groups with fewer candidates are shown only as suppressed, and left out of every comparison. */
export const SMALLEST_SHOWN_GROUP = 10;

export interface SubgroupRecord {
  candidate: string;
  characteristic: string;
  group: string;
  passed: 0 | 1;
  /** The CSV line it came from, so that a refusal can name it (absent for stored data). */
  line?: number;
}

/**
 * Characteristics and their groups in the order they first appear. `ratio` is null when no shown
 * group has a pass (there is no highest rate to divide by); `fisherP` is null with fewer than two
 * shown groups, and follows `groups` in each characteristic.
 */
export function subgroups(records: readonly SubgroupRecord[]): SubgroupsResult {
  const byCharacteristic = new Map<string, { seen: Map<string, SubgroupRecord>; groups: Map<string, { n: number; passed: number }> }>();
  for (const record of records) {
    let characteristic = byCharacteristic.get(record.characteristic);
    if (!characteristic) byCharacteristic.set(record.characteristic, (characteristic = { seen: new Map(), groups: new Map() }));
    const earlier = characteristic.seen.get(record.candidate);
    if (earlier) {
      throw new AnalysisInputError(
        `candidate "${record.candidate}" is listed twice for "${record.characteristic}"${earlier.line !== undefined ? ` (also on row ${earlier.line})` : ''}`,
        { ...(record.line !== undefined ? { line: record.line } : {}), column: 'candidate' },
      );
    }
    characteristic.seen.set(record.candidate, record);
    let group = characteristic.groups.get(record.group);
    if (!group) characteristic.groups.set(record.group, (group = { n: 0, passed: 0 }));
    group.n++;
    group.passed += record.passed;
  }

  const characteristics: SubgroupCharacteristic[] = [];
  for (const [characteristic, { groups }] of byCharacteristic) {
    const shown = [...groups.values()].filter((g) => g.n >= SMALLEST_SHOWN_GROUP);
    const highestRate = Math.max(0, ...shown.map((g) => g.passed / g.n));
    const rows: SubgroupRow[] = [...groups].map(([group, { n, passed }]) => {
      if (n < SMALLEST_SHOWN_GROUP) return { group, suppressed: true };
      const rate = passed / n;
      return { group, n, passed, rate, ci95: wilsonInterval(passed, n), ratio: highestRate > 0 ? rate / highestRate : null, suppressed: false };
    });
    const fisherP = shown.length >= 2 ? fisherExactP(shown.map((g) => ({ passed: g.passed, failed: g.n - g.passed }))) : null;
    characteristics.push({ characteristic, groups: rows, fisherP });
  }
  return { characteristics };
}

export const subgroupsAnalysis: Analysis<SubgroupsResult> = {
  name: 'subgroups',
  summary: `Pass rates per group of each characteristic: Wilson 95% interval, ratio to the highest rate, Fisher's exact p; groups under ${SMALLEST_SHOWN_GROUP} suppressed.`,
  columns: ['candidate', 'characteristic', 'group', 'passed'],
  options: {},
  run(rows: CsvRow[]): SubgroupsResult {
    return subgroups(
      rows.map((row) => ({
        candidate: labelCell(row, 'candidate'),
        characteristic: labelCell(row, 'characteristic'),
        group: labelCell(row, 'group'),
        passed: binaryCell(row, 'passed'),
        line: row.line,
      })),
    );
  },
};
