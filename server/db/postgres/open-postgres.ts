// Opens the studio's PostgreSQL database, creating its schema (schema.sql) in an empty one.
// The schema is SQLite's at its latest migration, in PostgreSQL's words, invariants included
// (the append-only audit, sign-off locks and frozen written exercises are triggers here too).
// Nodes starting together create (or upgrade) it once: that holds the studio's write lock.
import fs from 'node:fs';
import { PostgresDatabase } from './postgres-database.ts';

const SCHEMA_FILE = new URL('./schema.sql', import.meta.url);

/**
 * A database created by an older schema.sql is brought up to date by these, in order: the SQL
 * that takes it from version n - 1 to n, keyed by n (each mirrors SQLite's migration n).
 */
const UPGRADES: Record<number, string> = {
  28: `ALTER TABLE recordings ADD COLUMN node TEXT;
       CREATE TABLE session_leases (
         session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
         node TEXT NOT NULL,
         token BIGINT NOT NULL,
         expires_at BIGINT NOT NULL
       );`,
  29: `CREATE TABLE cluster_nodes (
         node TEXT PRIMARY KEY,
         seen_at BIGINT NOT NULL,
         address TEXT
       );`,
};

/** The schema version schema.sql creates (its header says which SQLite migration it matches). */
export function postgresSchemaVersion(): number {
  const match = /schema version (\d+)/i.exec(fs.readFileSync(SCHEMA_FILE, 'utf8'));
  if (!match) throw new Error('server/db/postgres/schema.sql does not say which schema version it is');
  return Number(match[1]);
}

/** `version`: the schema version this studio expects (the number of SQLite migrations). */
export function openPostgres(url: string, version: number): PostgresDatabase {
  const created = postgresSchemaVersion();
  if (created !== version) {
    throw new Error(`server/db/postgres/schema.sql is schema version ${created}, the studio's SQLite migrations reach ${version}: mirror the newer migrations there`);
  }
  const db = new PostgresDatabase(url);
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const { present } = db.prepare("SELECT to_regclass('simstudio_schema') IS NOT NULL AS present").get() as { present: number };
      if (!present) {
        db.exec(fs.readFileSync(SCHEMA_FILE, 'utf8'));
        db.exec(`CREATE TABLE simstudio_schema (version BIGINT NOT NULL); INSERT INTO simstudio_schema (version) VALUES (${version})`);
      } else {
        const stored = Number((db.prepare('SELECT MAX(version) AS stored FROM simstudio_schema').get() as { stored: number }).stored);
        if (stored > version) throw new Error(`the PostgreSQL database is at schema version ${stored}, newer than this studio's ${version}: run the newer studio`);
        for (let next = stored + 1; next <= version; next++) {
          const upgrade = UPGRADES[next];
          if (!upgrade) throw new Error(`the PostgreSQL database is at schema version ${stored}; this studio needs ${version} and has no PostgreSQL migration to ${next}`);
          db.exec(upgrade);
          db.exec(`INSERT INTO simstudio_schema (version) VALUES (${next})`);
        }
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
