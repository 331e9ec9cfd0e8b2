// The equalities aggregate's tables as CSV, for analysts: exactly what the page shows — a group
// under 10 is a row with its name and "suppressed", never a number.
import { stringify } from 'csv-stringify/sync';
import type { EqualitiesReport } from '../../shared/equalities.ts';

export type EqualitiesTable = 'outcomes' | 'dif';

export function equalitiesCsv(report: EqualitiesReport, table: EqualitiesTable): string {
  const write = (columns: string[], records: unknown[][]): string =>
    stringify(records, { header: true, columns, escape_formulas: true, record_delimiter: 'windows' });
  if (table === 'outcomes') {
    const characteristics = report.outcomes.ok ? report.outcomes.result.characteristics : [];
    return write(
      ['characteristic', 'group', 'suppressed', 'n', 'passed', 'rate', 'ci_lo', 'ci_hi', 'ratio', 'fisher_p'],
      characteristics.flatMap((c) =>
        c.groups.map((g) =>
          g.suppressed
            ? [c.characteristic, g.group, 'yes', '', '', '', '', '', '', c.fisherP ?? '']
            : [c.characteristic, g.group, 'no', g.n, g.passed, g.rate, g.ci95[0], g.ci95[1], g.ratio ?? '', c.fisherP ?? ''],
        ),
      ),
    );
  }
  return write(
    ['characteristic', 'reference', 'focal', 'item', 'title', 'alpha_mh', 'delta_mh', 'se', 'class', 'strata'],
    report.dif.flatMap((d) =>
      d.dif.ok
        ? d.dif.result.items.map((i) => [d.characteristic, d.reference ?? '', d.focal.join(' + '), i.item, report.itemTitles[i.item] ?? i.item, i.alphaMH, i.deltaMH, i.se, i.class, i.strata])
        : [],
    ),
  );
}
