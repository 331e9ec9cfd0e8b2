// PostgreSQL for the tests: a throwaway cluster of Debian's postgresql in a temporary folder
// (unix socket only, no TCP port), started once per run for the `postgres` test project
// (postgres-global-setup.ts, which provides its URL to that project's files only; the
// engine-env.ts set-up file puts it in SIMSTUDIO_TEST_POSTGRES), and one database per studio
// data directory, created from a template that already holds the schema.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStudioDatabase } from '../../server/db/database.ts';
import { engineOf, type Database } from '../../server/db/engine.ts';
import { PostgresDatabase } from '../../server/db/postgres/postgres-database.ts';

export const TEMPLATE_DATABASE = 'simstudio_template';
const PORT = 5432;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The `postgres` project's cluster (its database `postgres`); absent in the `sqlite` project. */
    postgresUrl?: string;
  }
}

export interface PostgresCluster {
  /** The URL of one database of the cluster. */
  url(database: string): string;
  /** Stops it at once (as a crash would: no shutdown checkpoint) and starts it again. */
  restart(): void;
  stop(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error("PostgreSQL is not installed (Debian package 'postgresql'): the postgres test project needs it");
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, 'bin');
}

/** Runs a PostgreSQL program; as root, as the user postgres (the server refuses to run as root). */
function run(program: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', program, ...args], { encoding: 'utf8' }) : spawnSync(program, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${path.basename(program)} failed (${result.status}): ${result.stderr || result.stdout || result.error?.message}`);
}

export function startPostgresCluster(): PostgresCluster {
  const bin = binDir();
  // Short: a unix socket's path must fit in 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sspg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) spawnSync('chown', ['postgres:postgres', dir]);
  run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C.UTF-8']);
  run(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    path.join(dir, 'log'),
    '-w',
    '-o',
    `-k ${dir} -p ${PORT} -c listen_addresses= -c max_connections=300`,
    'start',
  ]);
  return {
    url: (database) => `postgresql://postgres@localhost/${database}?host=${encodeURIComponent(dir)}&port=${PORT}`,
    // The server's output to the log, as at the start: one left holding our pipes would hang the call.
    restart: () => run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-m', 'immediate', '-w', 'restart']),
    stop: () => {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a cluster with the template database every studio's database is copied from (made
 * by the studio's own schema creation, once). Studios find it through SIMSTUDIO_TEST_POSTGRES
 * (its URL) in the environment of the process that starts them.
 */
export function startPostgresForStudios(): PostgresCluster {
  const cluster = startPostgresCluster();
  const admin = new PostgresDatabase(cluster.url('postgres'));
  admin.exec(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  admin.close();
  openStudioDatabase({ dataDir: '', databaseUrl: cluster.url(TEMPLATE_DATABASE) }).close();
  return cluster;
}

/** The cluster's URL for `database` (the run's cluster: SIMSTUDIO_TEST_POSTGRES). */
function clusterUrl(database: string): string | undefined {
  const base = process.env.SIMSTUDIO_TEST_POSTGRES;
  if (!base) return undefined;
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

const created = new Set<string>();

/**
 * In the postgres test project: the URL of the database of this data directory, created (with
 * the schema, from the template) the first time it is asked for, so that a studio started again
 * on the same folder finds its data. Otherwise undefined: the studio keeps SQLite in the folder.
 */
export function testDatabaseUrl(dataDir: string): string | undefined {
  const admin = clusterUrl('postgres');
  if (!admin) return undefined;
  const name = `studio_${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 24)}`;
  if (!created.has(name)) {
    const db = new PostgresDatabase(admin);
    try {
      const exists = db.prepare('SELECT 1 AS found FROM pg_database WHERE datname = ?').get(name);
      if (!exists) db.exec(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
    } finally {
      db.close();
    }
    created.add(name);
  }
  return clusterUrl(name);
}

/** The environment that points a studio at `dataDir` (and at its database, in the postgres project). */
export function studioEnv(dataDir: string): { SIMSTUDIO_DATA_DIR: string; DATABASE_URL?: string } {
  const url = testDatabaseUrl(dataDir);
  return url ? { SIMSTUDIO_DATA_DIR: dataDir, DATABASE_URL: url } : { SIMSTUDIO_DATA_DIR: dataDir };
}

/**
 * Holds the database's write lock from another connection, as a stuck writer would: SQLite's
 * file lock, or on PostgreSQL the studio's write lock and the collaboration log's table.
 */
export function holdWriteLock(dataDir: string): { release(): void } {
  const url = testDatabaseUrl(dataDir);
  if (url) {
    const db = new PostgresDatabase(url);
    db.exec('BEGIN IMMEDIATE');
    db.exec('LOCK TABLE collab_updates IN EXCLUSIVE MODE');
    return {
      release: () => {
        db.exec('ROLLBACK');
        db.close();
      },
    };
  }
  const db = new DatabaseSync(path.join(dataDir, 'simstudio.db'));
  db.exec('BEGIN IMMEDIATE');
  return {
    release: () => {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** Another connection to the database of the studio on `dataDir` (as a test reads or tampers with it). */
export function connectToStudioDatabase(dataDir: string, options: { readOnly?: boolean } = {}): Database {
  const url = testDatabaseUrl(dataDir);
  if (url) return new PostgresDatabase(url);
  const db = new DatabaseSync(path.join(dataDir, 'simstudio.db'), { readOnly: options.readOnly ?? false });
  db.exec('PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  return db;
}

/** Drops a trigger as only raw access to the database could (PostgreSQL names its table too). */
export function dropTrigger(db: Database, trigger: string, table: string): void {
  db.exec(engineOf(db) === 'postgres' ? `DROP TRIGGER ${trigger} ON ${table}` : `DROP TRIGGER ${trigger}`);
}
