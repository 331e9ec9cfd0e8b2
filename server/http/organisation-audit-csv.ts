// The organisation's audit log as CSV for auditors (csv-stringify quotes every field that needs it).
import { stringify } from 'csv-stringify/sync';
import type { OrganisationAuditEntry } from '../db/audit-repo.ts';

export function organisationAuditCsv(rows: OrganisationAuditEntry[]): string {
  return stringify(
    rows.map((r) => [r.id, r.at, r.action, r.personId ?? '', r.name ?? '', r.role ?? '', r.sessionId ?? '', JSON.stringify(r.detail)]),
    { header: true, columns: ['id', 'at', 'action', 'person_id', 'name', 'role', 'session_id', 'detail'] },
  );
}
