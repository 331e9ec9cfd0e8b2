// `npm run backup -- <dir> [--data-dir D]`: see backup.ts. The data directory is the studio's
// (SIMSTUDIO_DATA_DIR, else ./data) unless --data-dir says otherwise.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackup } from './backup.ts';
import { dataDirFrom, studioVersion } from './cli-common.ts';

const USAGE = 'usage: npm run backup -- <backup-dir> [--data-dir <dir>]';

try {
  const { values, positionals } = parseArgs({ options: { 'data-dir': { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new Error(USAGE);
  const dataDir = dataDirFrom(values['data-dir']);
  const { dir, manifest } = await createBackup(dataDir, positionals[0]!, studioVersion());
  const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  const lines = [
    `Backed up ${dataDir} into ${dir}`,
    `  ${manifest.files.length} files, ${(bytes / 1e6).toFixed(1)} MB; database schema version ${manifest.schemaVersion}; SimStudio ${manifest.studioVersion}`,
    `  ${manifest.studioWasRunning ? 'the studio was running: the database is as it was at ' + manifest.startedAt : 'no studio was running'}`,
  ];
  if (manifest.inFlight.length > 0) {
    lines.push(`  ${manifest.inFlight.length} recording segment(s) were being written: copied as far as written (a restored studio completes them as cut off):`);
    for (const f of manifest.inFlight) lines.push(`    ${f.path}`);
  }
  for (const f of manifest.leftOut) lines.push(`  left out ${f.path}: ${f.reason}`);
  lines.push(`  ${path.join(dir, 'manifest.json')} lists every file with its SHA-256.`);
  lines.push('  The backup holds personal data, the signing secret and the recording keys: keep it as private as the studio.');
  process.stdout.write(lines.join('\n') + '\n');
} catch (error) {
  process.stderr.write(`backup failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
