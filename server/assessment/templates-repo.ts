// Assessment templates as versioned data: saving a template stores a new version; sessions
// keep a copy of the version they were booked with.
import { TemplateSchema, type Template } from '../../shared/assessment.ts';
import { transaction, type Database } from '../db/database.ts';
import { DEFAULT_TEMPLATES } from './default-templates.ts';

export class TemplatesRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  seedIfEmpty(): void {
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM templates').get() as { n: number };
    if (n === 0) transaction(this.db, () => DEFAULT_TEMPLATES.forEach((t) => this.insert(t)));
  }

  /** Saves `input` as the next version of its id (version 1 for a new id). */
  saveNewVersion(input: Omit<Template, 'version'>): Template {
    return transaction(this.db, () => {
      const latest = this.latest(input.id);
      const template = TemplateSchema.parse({ ...input, version: (latest?.version ?? 0) + 1 });
      this.insert(template);
      return template;
    });
  }

  latest(id: string): Template | undefined {
    const row = this.db.prepare('SELECT body FROM templates WHERE id = ? ORDER BY version DESC LIMIT 1').get(id) as
      | { body: string }
      | undefined;
    return row && (JSON.parse(row.body) as Template);
  }

  /** The latest version of every template. */
  list(): Template[] {
    const rows = this.db
      .prepare('SELECT t.body FROM templates t WHERE t.version = (SELECT MAX(version) FROM templates WHERE id = t.id) ORDER BY t.id')
      .all() as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as Template);
  }

  private insert(template: Template): void {
    this.db
      .prepare('INSERT INTO templates (id, version, body, created_at) VALUES (?, ?, ?, ?)')
      .run(template.id, template.version, JSON.stringify(template), new Date().toISOString());
  }
}
