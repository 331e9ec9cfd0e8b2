// The lead observer's backup-recording upload, for server and client:
//
//   POST /api/sessions/<sessionId>/fallback-recording?participantId=<me>&phaseIndex=<n>&seq=<k>
//   headers: X-Fallback-Run (1, 2, … within the phase; each run is one WebM stream),
//            X-Fallback-Started-At (server epoch ms when the run started), Content-Length
//   body: the raw chunk, at most FALLBACK_MAX_CHUNK_BYTES.
//   204 stored; otherwise {error: {code, message, reason, expectedSeq?}}.
//
// Backup footage is evidence, so the server takes it only while its own recorder is known to
// be down for that phase of a live day: a run must start inside a window in which the
// server's recorder was failed or restarting for that phase (and chunks of an accepted run
// follow while the day is live). Everything is checked before a byte of the body is read.
import type { z } from 'zod';
import type { FallbackUploadErrorSchema } from './recording-upload-schemas.ts';

export const FALLBACK_MAX_CHUNK_BYTES = 8 * 1024 * 1024;

/** Why an upload was refused: a closed set. */
export const FALLBACK_REFUSALS = [
  /** The day is not running or paused (finished, not started, or already in moderation). */
  'DAY_NOT_LIVE',
  /** That phase is not a recorded one (scenario, reflective conversation) or has not begun. */
  'PHASE_NOT_RECORDED',
  /** A new run, but the server's recorder was not down for that phase when it started. */
  'RECORDER_NOT_DOWN',
  /** `seq` is not the next one; `expectedSeq` says which is. */
  'OUT_OF_ORDER',
  'CHUNK_TOO_LARGE',
  /** The run, or all backup footage of the session, reached its size cap. */
  'RUN_TOO_LARGE',
  'SESSION_TOO_LARGE',
  /** The server's disk is nearly full: try again later. */
  'DISK_FULL',
  'EMPTY_CHUNK',
  /** The body ended before its declared length (the connection broke): send it again. */
  'BODY_INCOMPLETE',
  'INVALID_REQUEST',
] as const;
export type FallbackRefusal = (typeof FALLBACK_REFUSALS)[number];

/** Refusals that sending the same chunk again cannot change: the client drops its run. */
export const FINAL_FALLBACK_REFUSALS: ReadonlySet<FallbackRefusal> = new Set([
  'DAY_NOT_LIVE',
  'PHASE_NOT_RECORDED',
  'RECORDER_NOT_DOWN',
  'CHUNK_TOO_LARGE',
  'RUN_TOO_LARGE',
  'SESSION_TOO_LARGE',
  'EMPTY_CHUNK',
  'INVALID_REQUEST',
]);
export type FallbackUploadError = z.infer<typeof FallbackUploadErrorSchema>;
