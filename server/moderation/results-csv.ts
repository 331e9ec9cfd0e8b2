// Results as CSV for coordinators (csv-stringify; cells that a spreadsheet would run as a
// formula are escaped).
import { stringify } from 'csv-stringify/sync';
import type { QueueRow } from '../../shared/moderation.ts';

const COLUMNS = [
  'session_id',
  'title',
  'candidate_name',
  'candidate_ref',
  'scheduled_start',
  'template',
  'status',
  'observation_score',
  'observation_pass_mark',
  'observation_outcome',
  'written_score',
  'written_pass_mark',
  'written_outcome',
  'final',
  'retake_of',
  'retake_element',
] as const;

export function resultsCsv(rows: QueueRow[]): string {
  const records = rows.map((row) => {
    const of = (element: 'observation' | 'written') => row.results.find((r) => r.element === element);
    const obs = of('observation');
    const wri = of('written');
    return [
      row.sessionId,
      row.title,
      row.candidateName,
      row.candidateRef ?? '',
      row.scheduledStart === null ? '' : new Date(row.scheduledStart).toISOString(),
      row.templateName,
      row.status,
      obs?.score ?? '',
      obs?.assessed ? obs.passMark : '',
      obs?.outcome ?? '',
      wri?.score ?? '',
      wri?.assessed ? wri.passMark : '',
      wri?.outcome ?? '',
      // Outcomes are provisional (the observers' agreed marks) until signed off.
      row.status === 'moderated' ? 'yes' : 'no',
      row.retake?.of ?? '',
      row.retake?.element ?? '',
    ];
  });
  return stringify(records, { header: true, columns: [...COLUMNS], escape_formulas: true, record_delimiter: 'windows' });
}
