// What the backup and restore commands share: which data directory they work on.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.ts';

/**
 * --data-dir when given, else the studio's own (SIMSTUDIO_DATA_DIR, else ./data). These
 * commands copy the embedded SQLite database with the folder: a studio on PostgreSQL
 * (DATABASE_URL) backs its database up with PostgreSQL's own tools, so they refuse.
 */
export function dataDirFrom(option: string | undefined): string {
  const config = loadConfig();
  if (config.databaseUrl) {
    throw new Error(
      "this studio's database is PostgreSQL (DATABASE_URL is set): back it up with pg_dump and restore it with pg_restore; these commands back up the embedded SQLite database and its data folder",
    );
  }
  return path.resolve(option ?? config.dataDir);
}

/** This SimStudio's version (package.json), without loading the whole studio. */
export function studioVersion(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
