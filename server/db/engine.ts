// What the studio's repositories need of a database, whichever engine holds it: node:sqlite's
// DatabaseSync (the embedded default) has exactly this shape, and the PostgreSQL engine
// (postgres/postgres-database.ts) offers it too, so the same repositories and the same SQL run
// on both. Statements are written in SQLite's dialect with portable constructs; the PostgreSQL
// engine translates the few that differ (postgres/sql.ts).

export type SqlValue = null | number | bigint | string | Uint8Array;
export type Row = Record<string, SqlValue>;

export interface RunResult {
  changes: number | bigint;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: SqlValue[]): RunResult;
  get(...params: SqlValue[]): Row | undefined;
  all(...params: SqlValue[]): Row[];
}

export interface Database {
  prepare(sql: string): Statement;
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  readonly isTransaction: boolean;
  readonly isOpen: boolean;
  close(): void;
}

export type Engine = 'sqlite' | 'postgres';

/** Which engine holds `db` (node:sqlite's DatabaseSync says nothing: it is the default). */
export function engineOf(db: Database): Engine {
  return (db as { engine?: Engine }).engine ?? 'sqlite';
}

/** Every table of the studio's schema, by name. */
export function tableNames(db: Database): string[] {
  const sql =
    engineOf(db) === 'postgres'
      ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
      : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
  return (db.prepare(sql).all() as Array<{ name: string }>).map((t) => t.name);
}

/** The TEXT columns of every table of the studio's schema, from the engine's own catalogue. */
export function textColumnsByTable(db: Database): Map<string, string[]> {
  const rows =
    engineOf(db) === 'postgres'
      ? (db
          .prepare(
            `SELECT c.table_name AS "table", c.column_name AS "column" FROM information_schema.columns c
             JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.data_type = 'text'
             ORDER BY c.table_name, c.ordinal_position`,
          )
          .all() as Array<{ table: string; column: string }>)
      : // SQLite: a column with no declared type may hold text too; BLOB, INTEGER and REAL cannot.
        (db
          .prepare(
            `SELECT m.name AS "table", c.name AS "column" FROM sqlite_master m JOIN pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND upper(c.type) NOT IN ('BLOB', 'INTEGER', 'REAL')
             ORDER BY m.name, c.cid`,
          )
          .all() as Array<{ table: string; column: string }>);
  const byTable = new Map<string, string[]>();
  for (const { table, column } of rows) byTable.set(table, [...(byTable.get(table) ?? []), column]);
  return byTable;
}

/** A failure of the database itself (not of the caller's input): both engines' errors. */
export function isStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_SQLITE_ERROR' || code === 'ERR_POSTGRES';
}

/** The engine's own words for a failure ("database is locked", "deadlock detected", …). */
export function storageErrorText(error: unknown): string | null {
  const errstr = (error as { errstr?: unknown } | null)?.errstr;
  return typeof errstr === 'string' && errstr ? errstr : null;
}
