// Each organisation's retention period per data class: its own where its administrator or
// coordinator set one, else the studio's default (server/config.ts).
import { DATA_CLASSES, type DataClass, type RetentionChange, type RetentionPeriods } from '../../shared/data-protection.ts';
import type { Database } from '../db/database.ts';

export class RetentionPeriodsRepo {
  private readonly db: Database;
  readonly defaults: RetentionPeriods;

  constructor(db: Database, defaults: RetentionPeriods) {
    this.db = db;
    this.defaults = defaults;
  }

  periods(organisationId: string | null): RetentionPeriods {
    const own = organisationId
      ? (this.db.prepare('SELECT data_class, days FROM retention_periods WHERE organisation_id = ?').all(organisationId) as Array<{ data_class: DataClass; days: number }>)
      : [];
    return { ...this.defaults, ...Object.fromEntries(own.map((r) => [r.data_class, r.days])) };
  }

  change(organisationId: string, change: RetentionChange): RetentionPeriods {
    const save = this.db.prepare(
      `INSERT INTO retention_periods (organisation_id, data_class, days, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (organisation_id, data_class) DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at`,
    );
    for (const dataClass of DATA_CLASSES) {
      const days = change[dataClass];
      if (days !== undefined) save.run(organisationId, dataClass, days, new Date().toISOString());
    }
    return this.periods(organisationId);
  }
}
