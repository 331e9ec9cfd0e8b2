// PostgreSQL's schema (server/db/postgres/schema.sql) is SQLite's at its latest migration:
// the same tables, columns in the same order with matching types, nullability and defaults,
// the same indexes and triggers. A SQLite migration not mirrored there fails here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { openPostgres, postgresSchemaVersion } from '../../server/db/postgres/open-postgres.ts';
import { PostgresDatabase } from '../../server/db/postgres/postgres-database.ts';
import { testDatabaseUrl } from '../helpers/postgres.ts';

/** SQLite's declared type, as PostgreSQL's schema writes it. */
const PG_TYPE: Record<string, string> = { INTEGER: 'bigint', REAL: 'double precision', BLOB: 'bytea', TEXT: 'text', '': 'text' };
/** The tables PostgreSQL gives a `rowid` column (SQLite's implicit one is ordered by). */
const WITH_ROWID = new Set(['organisations', 'sessions', 'participants', 'invite_links', 'angoff_estimates', 'result_reviews']);

it('has every SQLite table, column, index and trigger, with matching types and nullability', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-schema-'));
  const sqlite = openDatabase(dataDir);
  const pg = new PostgresDatabase(testDatabaseUrl(dataDir)!);
  try {
    const sqliteTables = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
    const pgTables = (
      pg.prepare("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'simstudio_schema' ORDER BY table_name").all() as Array<{ name: string }>
    ).map((t) => t.name);
    expect(pgTables).toEqual(sqliteTables);
    expect(sqliteTables.length).toBeGreaterThan(40);

    for (const table of sqliteTables) {
      const expected = (sqlite.prepare('SELECT name, type, "notnull" AS not_null, pk FROM pragma_table_info(?) ORDER BY cid').all(table) as Array<{ name: string; type: string; not_null: number; pk: number }>).map(
        (c) => ({ name: c.name, type: PG_TYPE[c.type.toUpperCase()] ?? c.type, notNull: c.not_null === 1 || c.pk > 0 }),
      );
      if (WITH_ROWID.has(table)) expected.push({ name: 'rowid', type: 'bigint', notNull: true });
      const actual = (
        pg
          .prepare("SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position")
          .all(table) as Array<{ name: string; type: string; nullable: string }>
      ).map((c) => ({ name: c.name, type: c.type, notNull: c.nullable === 'NO' }));
      expect(actual, table).toEqual(expected);
    }

    const sqliteIndexes = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all() as Array<{ name: string }>).map((i) => i.name);
    const pgIndexes = new Set((pg.prepare('SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()').all() as Array<{ name: string }>).map((i) => i.name));
    for (const index of sqliteIndexes) expect(pgIndexes.has(index), index).toBe(true);

    const sqliteTriggers = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
    const pgTriggers = new Set((pg.prepare('SELECT DISTINCT trigger_name AS name FROM information_schema.triggers WHERE trigger_schema = current_schema()').all() as Array<{ name: string }>).map((t) => t.name));
    expect(sqliteTriggers.length).toBeGreaterThan(25);
    for (const trigger of sqliteTriggers) expect(pgTriggers.has(trigger), trigger).toBe(true);
  } finally {
    sqlite.close();
    pg.close();
  }
});

it('brings a database made by an older schema up to date (recordings name their node; session leases; node presence)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-schema-upgrade-'));
  const url = testDatabaseUrl(dataDir)!;
  const old = new PostgresDatabase(url);
  try {
    // The database as schema version 27 made it.
    old.exec('DROP TABLE cluster_nodes; DROP TABLE session_leases; ALTER TABLE recordings DROP COLUMN node; UPDATE simstudio_schema SET version = 27');
  } finally {
    old.close();
  }
  const upgraded = openPostgres(url, postgresSchemaVersion());
  try {
    const versions = (upgraded.prepare('SELECT version FROM simstudio_schema ORDER BY version').all() as Array<{ version: number | bigint }>).map((v) => Number(v.version));
    expect(versions).toEqual([27, 28, 29]);
    const columns = upgraded.prepare("SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'session_leases' ORDER BY ordinal_position").all();
    expect(columns).toEqual([
      { name: 'session_id', type: 'text' },
      { name: 'node', type: 'text' },
      { name: 'token', type: 'bigint' },
      { name: 'expires_at', type: 'bigint' },
    ]);
    expect(upgraded.prepare("SELECT 1 AS found FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'recordings' AND column_name = 'node'").get()).toEqual({ found: 1 });
    const presence = upgraded.prepare("SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'cluster_nodes' ORDER BY ordinal_position").all();
    expect(presence).toEqual([
      { name: 'node', type: 'text' },
      { name: 'seen_at', type: 'bigint' },
      { name: 'address', type: 'text' },
    ]);
  } finally {
    upgraded.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
