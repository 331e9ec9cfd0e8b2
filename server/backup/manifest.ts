// The manifest of a backup: written last, so a backup without one is known to be partial. It
// lists every file the backup holds with its size and SHA-256 (restore refuses any mismatch),
// the schema version of the database copy (restore refuses a newer one than this code knows),
// and which recording segments were still being written when the copy was taken.
import path from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'simstudio-backup';
/** The database file, relative to the data directory (and the backup). */
export const DATABASE_NAME = 'simstudio.db';

/** A path inside a data directory: relative, forward slashes, never leaving it. */
const RelativePath = z
  .string()
  .min(1)
  .max(1000)
  .refine((p) => !path.posix.isAbsolute(p) && !p.includes('\\') && p.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), {
    message: 'a path inside the data directory',
  });

export const ManifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.literal(1),
  studioVersion: z.string(),
  /** PRAGMA user_version of the database copy. */
  schemaVersion: z.number().int().min(0),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** Whether a studio was running on the data directory while the copy was taken. */
  studioWasRunning: z.boolean(),
  files: z.array(z.object({ path: RelativePath, bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  /** Recording segments that were being written: the backup holds what was written of them so
   *  far, and a restored studio completes them as cut off (status "interrupted"). */
  inFlight: z.array(z.object({ path: RelativePath, recordingId: z.string() })),
  /** Files of the data directory the backup does not hold, and why. */
  leftOut: z.array(z.object({ path: z.string(), reason: z.string() })),
});

export type Manifest = z.infer<typeof ManifestSchema>;
