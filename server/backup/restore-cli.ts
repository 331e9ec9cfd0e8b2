// `npm run restore -- <backup-dir> [--data-dir D]`: see restore.ts. Exits 2 when it refuses
// (nothing changed), 1 on any other failure.
import { parseArgs } from 'node:util';
import { dataDirFrom } from './cli-common.ts';
import { restoreBackup, RestoreRefused } from './restore.ts';

const USAGE = 'usage: npm run restore -- <backup-dir> [--data-dir <dir>]';

try {
  const { values, positionals } = parseArgs({ options: { 'data-dir': { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new RestoreRefused(USAGE);
  const { manifest, dataDir, previous } = await restoreBackup(positionals[0]!, dataDirFrom(values['data-dir']));
  const lines = [
    `Restored the backup of ${manifest.startedAt} (SimStudio ${manifest.studioVersion}, schema version ${manifest.schemaVersion}, ${manifest.files.length} files) into ${dataDir}`,
  ];
  if (manifest.inFlight.length > 0) lines.push(`  ${manifest.inFlight.length} recording segment(s) were being written at backup time: the studio completes them as cut off when it starts.`);
  if (previous) lines.push(`  The data directory that was there is now ${previous}: delete it once the restored studio works (it holds personal data).`);
  lines.push('  Start the studio as usual.');
  process.stdout.write(lines.join('\n') + '\n');
} catch (error) {
  process.stderr.write(`restore ${error instanceof RestoreRefused ? 'refused' : 'failed'}: ${(error as Error).message}\n`);
  process.exitCode = error instanceof RestoreRefused ? 2 : 1;
}
