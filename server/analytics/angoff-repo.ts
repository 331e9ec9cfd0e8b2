// The studio's Angoff estimates: one row per template, judge and item (saving replaces the
// judge's set for the template in one transaction). A judge is a person (their id), shown by
// name: two judges who share a name stay two judges. Each organisation's judges estimate for
// its own panel: no organisation given = the estimates of none (made before organisations).
import { transaction, type Database } from '../db/database.ts';

/** As the analysis takes it (AngoffEstimate): grouped by the judge's id, named by their name. */
export interface StoredEstimate {
  /** The judging person's id. */
  judge: string;
  judgeName: string;
  item: string;
  estimate: number;
}

/** Who judges: the person (their id; a record without a person counts as one) and their name. */
export interface Judge {
  id: string;
  name: string;
}

export class AngoffRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  save(templateId: string, judge: Judge, byParticipantId: string, estimates: ReadonlyMap<string, number>, organisationId?: string): void {
    const organisation = organisationId ?? '';
    transaction(this.db, () => {
      this.db.prepare('DELETE FROM angoff_estimates WHERE organisation_id = ? AND template_id = ? AND judge_id = ?').run(organisation, templateId, judge.id);
      const insert = this.db.prepare(
        'INSERT INTO angoff_estimates (organisation_id, template_id, judge_id, judge_name, item_id, estimate, by_participant_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const at = new Date().toISOString();
      for (const [item, estimate] of estimates) insert.run(organisation, templateId, judge.id, judge.name, item, estimate, byParticipantId, at);
    });
  }

  /** Every judge's estimates for a template, judges in the order they first saved. */
  list(templateId: string, organisationId?: string): StoredEstimate[] {
    return (
      this.db
        .prepare('SELECT judge_id AS judge, judge_name AS "judgeName", item_id AS item, estimate FROM angoff_estimates WHERE organisation_id = ? AND template_id = ? ORDER BY rowid')
        .all(organisationId ?? '', templateId) as unknown as StoredEstimate[]
    ).map((r) => ({ judge: r.judge, judgeName: r.judgeName, item: r.item, estimate: Number(r.estimate) }));
  }
}
