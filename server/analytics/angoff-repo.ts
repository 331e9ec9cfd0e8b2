// The studio's Angoff estimates: one row per template, judge and item (saving replaces the
// judge's set for the template in one transaction).
import { transaction, type Database } from '../db/database.ts';

export interface StoredEstimate {
  judge: string;
  item: string;
  estimate: number;
}

export class AngoffRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  save(templateId: string, judge: string, byParticipantId: string, estimates: ReadonlyMap<string, number>): void {
    transaction(this.db, () => {
      this.db.prepare('DELETE FROM angoff_estimates WHERE template_id = ? AND judge_name = ?').run(templateId, judge);
      const insert = this.db.prepare(
        'INSERT INTO angoff_estimates (template_id, judge_name, item_id, estimate, by_participant_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const at = new Date().toISOString();
      for (const [item, estimate] of estimates) insert.run(templateId, judge, item, estimate, byParticipantId, at);
    });
  }

  /** Every judge's estimates for a template, judges in the order they first saved. */
  list(templateId: string): StoredEstimate[] {
    return (
      this.db
        .prepare('SELECT judge_name AS judge, item_id AS item, estimate FROM angoff_estimates WHERE template_id = ? ORDER BY rowid')
        .all(templateId) as unknown as StoredEstimate[]
    ).map((r) => ({ judge: r.judge, item: r.item, estimate: Number(r.estimate) }));
  }
}
