// The analytics panels' tables as CSV (csv-stringify; a cell a spreadsheet would run as a
// formula — an observer's name, say — is escaped).
import { stringify } from 'csv-stringify/sync';
import type { CohortAnalytics } from '../../shared/analytics.ts';
import { ICC_FORMS } from '../../shared/analytics.ts';

type Table = 'reliability' | 'stringency' | 'actors' | 'brm';

export function cohortCsv(analytics: CohortAnalytics, table: Table): string {
  const write = (columns: string[], records: unknown[][]): string =>
    stringify(records, { header: true, columns, escape_formulas: true, record_delimiter: 'windows' });
  switch (table) {
    case 'reliability': {
      const items = analytics.reliability.ok ? analytics.reliability.result.items : [];
      return write(
        ['item', 'title', 'performances', 'dropped', 'raters', ...ICC_FORMS, ...ICC_FORMS.flatMap((f) => [`${f}_lo`, `${f}_hi`]), 'fleiss_kappa', 'exact_agreement', 'adjacent_agreement'],
        items.map((i) => [i.item, i.title, i.candidates, i.dropped, i.raters, ...ICC_FORMS.map((f) => i.icc[f]), ...ICC_FORMS.flatMap((f) => i.ci95[f]), i.fleissKappa ?? '', i.exactAgreement, i.adjacentAgreement]),
      );
    }
    case 'stringency':
    case 'actors': {
      const panel = table === 'stringency' ? analytics.stringency : analytics.actors;
      const raters = panel.ok ? panel.result.raters : [];
      return write([table === 'stringency' ? 'observer' : 'actor', 'n', 'effect', 'se', 'z', 'flag'], raters.map((r) => [r.rater, r.n, r.effect, r.se, r.z, r.flag ?? '']));
    }
    case 'brm': {
      const stations = analytics.brm.ok ? analytics.brm.result.stations : [];
      return write(['station', 'n', 'intercept', 'slope', 'r2', 'rmse', 'cut'], stations.map((s) => [s.station, s.n, s.intercept, s.slope, s.r2, s.rmse, s.cut]));
    }
  }
}
