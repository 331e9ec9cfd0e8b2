// The scenario bank, stored in the database; seeded from the starter bank on first start.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Level } from '../../shared/domain.ts';
import { ScenarioBankSchema, ScenarioSchema, type Scenario } from '../../shared/scenario.ts';
import { transaction, type Database } from '../db/database.ts';

const STARTER_BANK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'starter-bank.json');

export function loadStarterBank(): Scenario[] {
  return ScenarioBankSchema.parse(JSON.parse(fs.readFileSync(STARTER_BANK, 'utf8')));
}

export class ScenarioBank {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** Fills an empty bank with the starter scenarios. */
  seedIfEmpty(): void {
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM scenarios').get() as { n: number };
    if (n === 0) transaction(this.db, () => loadStarterBank().forEach((s) => this.save(s)));
  }

  /** Creates or replaces a scenario (validated). */
  save(input: Scenario): Scenario {
    const scenario = ScenarioSchema.parse(input);
    this.db
      .prepare(
        `INSERT INTO scenarios (id, level, case_family, ord, supervision, body, archived, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?)
         ON CONFLICT(id) DO UPDATE SET level = excluded.level, case_family = excluded.case_family, ord = excluded.ord,
           supervision = excluded.supervision, body = excluded.body, updated_at = excluded.updated_at`,
      )
      .run(
        scenario.id,
        scenario.level,
        scenario.caseFamily,
        scenario.order,
        scenario.supervision ? 1 : 0,
        JSON.stringify(scenario),
        new Date().toISOString(),
      );
    return scenario;
  }

  get(id: string): Scenario | undefined {
    const row = this.db.prepare('SELECT body FROM scenarios WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Scenario);
  }

  list(level?: Level): Scenario[] {
    const rows = (
      level
        ? this.db.prepare('SELECT body FROM scenarios WHERE archived = 0 AND level = ? ORDER BY case_family, ord, id').all(level)
        : this.db.prepare('SELECT body FROM scenarios WHERE archived = 0 ORDER BY level, case_family, ord, id').all()
    ) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as Scenario);
  }
}
