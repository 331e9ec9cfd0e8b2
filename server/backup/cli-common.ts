// What the backup and restore commands share: which data directory they work on.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.ts';

/** --data-dir when given, else the studio's own (SIMSTUDIO_DATA_DIR, else ./data). */
export function dataDirFrom(option: string | undefined): string {
  return path.resolve(option ?? loadConfig().dataDir);
}

/** This SimStudio's version (package.json), without loading the whole studio. */
export function studioVersion(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
