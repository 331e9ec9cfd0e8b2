import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, tightenIfPresent } from '../data-dir.ts';

/**
 * The signing secret: SIMSTUDIO_SECRET if given, otherwise generated once and kept in the
 * data directory (mode 0600) so that invites stay valid across restarts.
 */
export function loadOrCreateSecret(dataDir: string, fromEnv: string | undefined): Uint8Array {
  if (fromEnv) return new TextEncoder().encode(fromEnv);
  const file = path.join(dataDir, 'secret.key');
  ensurePrivateDir(dataDir);
  try {
    const stored = fs.readFileSync(file, 'utf8');
    tightenIfPresent(file); // one copied in (or written by an older version) with a looser mode
    return new Uint8Array(Buffer.from(stored.trim(), 'base64url'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32);
  // 'wx': never overwrite a secret another process wrote first.
  try {
    fs.writeFileSync(file, secret.toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSecret(dataDir, undefined);
    throw error;
  }
  return new Uint8Array(secret);
}
