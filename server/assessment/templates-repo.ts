// Assessment templates as versioned data: saving a template stores a new version; sessions
// keep a copy of the version they were booked with. Each organisation has its own templates:
// the default ones are shared (organisation_id ''), and an organisation's own versions of an
// id hide the shared ones of that id for it alone. No organisation given = the shared ones only.
import type { Template } from '../../shared/assessment.ts';
import { TemplateSchema } from '../../shared/assessment-schemas.ts';
import { transaction, type Database } from '../db/database.ts';
import { DEFAULT_TEMPLATES } from './default-templates.ts';

/** The shared (built-in) rows' organisation. */
const SHARED = '';

export class TemplatesRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  seedIfEmpty(): void {
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM templates WHERE organisation_id = ?').get(SHARED) as { n: number };
    if (n === 0) transaction(this.db, () => DEFAULT_TEMPLATES.forEach((t) => this.insert(t, SHARED)));
  }

  /** Saves `input` as the organisation's next version of its id (after the newest version it
   *  sees; version 1 for a new id). */
  saveNewVersion(input: Omit<Template, 'version'>, organisationId?: string): Template {
    return transaction(this.db, () => {
      const latest = this.latest(input.id, organisationId);
      const template = TemplateSchema.parse({ ...input, version: (latest?.version ?? 0) + 1 });
      this.insert(template, organisationId ?? SHARED);
      return template;
    });
  }

  /** The newest version the organisation sees: its own if it has any, else the shared one. */
  latest(id: string, organisationId?: string): Template | undefined {
    // Organisation ids are never empty, so its own rows sort before the shared ones.
    const row = this.db
      .prepare("SELECT body FROM templates WHERE id = ? AND organisation_id IN ('', ?) ORDER BY organisation_id DESC, version DESC LIMIT 1")
      .get(id, organisationId ?? SHARED) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Template);
  }

  /** The latest version of every template the organisation sees. */
  list(organisationId?: string): Template[] {
    const org = organisationId ?? SHARED;
    // Per id, MAX(organisation_id) is the organisation's own ('' sorts first) when it has one.
    const rows = this.db
      .prepare(
        `SELECT t.body FROM templates t
         WHERE t.organisation_id = (SELECT MAX(organisation_id) FROM templates WHERE id = t.id AND organisation_id IN ('', ?))
           AND t.version = (SELECT MAX(version) FROM templates WHERE id = t.id AND organisation_id = t.organisation_id)
         ORDER BY t.id`,
      )
      .all(org) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as Template);
  }

  private insert(template: Template, organisationId: string): void {
    this.db
      .prepare('INSERT INTO templates (organisation_id, id, version, body, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(organisationId, template.id, template.version, JSON.stringify(template), new Date().toISOString());
  }
}
