// The scenario bank, stored in the database; seeded from the starter bank on first start.
// Each organisation has its own bank: the starter scenarios are shared (organisation_id ''),
// and an organisation's saved scenario hides the shared one of the same id for it alone.
// No organisation given = the shared bank only.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Level } from '../../shared/domain.ts';
import { ScenarioBankSchema, ScenarioSchema, type Scenario } from '../../shared/scenario.ts';
import { transaction, type Database } from '../db/database.ts';

/** The shared (starter) rows' organisation. */
const SHARED = '';

const STARTER_BANK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'starter-bank.json');

export function loadStarterBank(): Scenario[] {
  return ScenarioBankSchema.parse(JSON.parse(fs.readFileSync(STARTER_BANK, 'utf8')));
}

export class ScenarioBank {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** Fills an empty shared bank with the starter scenarios. */
  seedIfEmpty(): void {
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM scenarios WHERE organisation_id = ?').get(SHARED) as { n: number };
    if (n === 0) transaction(this.db, () => loadStarterBank().forEach((s) => this.save(s)));
  }

  /** Creates or replaces the organisation's own scenario (validated); saving a shared
   *  scenario's id makes the organisation's own copy. */
  save(input: Scenario, organisationId?: string): Scenario {
    const scenario = ScenarioSchema.parse(input);
    this.db
      .prepare(
        `INSERT INTO scenarios (organisation_id, id, level, case_family, ord, supervision, body, archived, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
         ON CONFLICT(organisation_id, id) DO UPDATE SET level = excluded.level, case_family = excluded.case_family, ord = excluded.ord,
           supervision = excluded.supervision, body = excluded.body, updated_at = excluded.updated_at`,
      )
      .run(
        organisationId ?? SHARED,
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

  /** The scenario as the organisation sees it: its own copy if it has one, else the shared one. */
  get(id: string, organisationId?: string): Scenario | undefined {
    // Organisation ids are never empty, so its own row sorts before the shared one.
    const row = this.db
      .prepare("SELECT body FROM scenarios WHERE id = ? AND organisation_id IN ('', ?) ORDER BY organisation_id DESC LIMIT 1")
      .get(id, organisationId ?? SHARED) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Scenario);
  }

  /** The organisation's bank (of one level if given), archived scenarios left out. */
  list(level?: Level, organisationId?: string): Scenario[] {
    // Per id, MAX(organisation_id) is the organisation's own ('' sorts first) when it has one.
    const visible = `s.organisation_id = (SELECT MAX(organisation_id) FROM scenarios WHERE id = s.id AND organisation_id IN ('', ?)) AND s.archived = 0`;
    const org = organisationId ?? SHARED;
    const rows = (
      level
        ? this.db.prepare(`SELECT s.body FROM scenarios s WHERE ${visible} AND s.level = ? ORDER BY s.case_family, s.ord, s.id`).all(org, level)
        : this.db.prepare(`SELECT s.body FROM scenarios s WHERE ${visible} ORDER BY s.level, s.case_family, s.ord, s.id`).all(org)
    ) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as Scenario);
  }
}
