// Data protection wired together: retention periods, legal holds, the hourly retention run and
// erasure, over one database and recordings folder.
import type { ErasureReport, ErasureRequest, RetentionPeriods, RetentionReport } from '../../shared/data-protection.ts';
import type { AuditPerson, AuditRepo } from '../db/audit-repo.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { removeRecordingFile } from '../recording/recording-service.ts';
import { erasePerson } from './erasure.ts';
import { LegalHolds } from './legal-holds.ts';
import { RetentionPeriodsRepo } from './retention-periods.ts';
import { runRetention, type RetentionOptions } from './retention-run.ts';

const HOURLY_MS = 3600_000;

export class DataProtection {
  readonly periods: RetentionPeriodsRepo;
  readonly holds: LegalHolds;
  private readonly db: Database;
  private readonly audit: AuditRepo;
  private readonly log: Logger | undefined;
  private readonly recordingsDir: string;
  private timer: NodeJS.Timeout | undefined;
  /** Told which stored collaboration documents an erasure rewrote (the live server drops its
   *  copies, so that nobody sees, or stores again, the text as it was). */
  documentsChanged: ((names: string[]) => void) | undefined;

  constructor(deps: { db: Database; audit: AuditRepo; recordingsDir: string; defaults: RetentionPeriods; log?: Logger }) {
    this.db = deps.db;
    this.audit = deps.audit;
    this.log = deps.log?.child({ module: 'data-protection' });
    this.recordingsDir = deps.recordingsDir;
    this.periods = new RetentionPeriodsRepo(deps.db, deps.defaults);
    this.holds = new LegalHolds(deps.db);
  }

  /** Runs retention now, then every hour. */
  start(): void {
    this.scheduled();
    this.timer = setInterval(() => this.scheduled(), HOURLY_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  runRetention(options: RetentionOptions): RetentionReport {
    return runRetention(
      { db: this.db, audit: this.audit, periods: this.periods, holds: this.holds, removeRecordingFile: (file) => removeRecordingFile(this.recordingsDir, file), ...(this.log ? { log: this.log } : {}) },
      options,
    );
  }

  erase(organisationId: string, personId: string, request: ErasureRequest, by: AuditPerson): ErasureReport {
    const report = erasePerson(
      {
        db: this.db,
        audit: this.audit,
        holds: this.holds,
        removeRecordingFile: (file) => removeRecordingFile(this.recordingsDir, file),
        documentsChanged: (names) => this.documentsChanged?.(names),
      },
      { organisationId, personId, request, by },
    );
    this.log?.info({ erasureId: report.erasureId, tables: report.tables }, 'person erased');
    return report;
  }

  private scheduled(): void {
    try {
      const report = this.runRetention({ trigger: 'hourly' });
      const removed = Object.fromEntries(Object.entries(report.classes).map(([c, r]) => [c, r.removed + r.pseudonymised]));
      this.log?.info({ removed, held: report.heldSessionIds.length }, 'retention run');
    } catch (error) {
      this.log?.error({ err: (error as Error).message }, 'retention run failed');
    }
  }
}
