// Stores the lead observer's backup recording (shared/recording-upload.ts has the protocol).
// Every rule that can be checked without the body is checked first (the day is live, the phase
// is recorded, the server recorder was down when the run began, the chunk is the next one, size
// caps, free disk); only then is the body streamed to the end of the run's file, counted as it
// comes, and cut off at the cap. A chunk counts only once it is whole: on any failure the file
// is truncated back to what the database records (a new run's file is removed), so a broken
// or refused upload leaves nothing behind and the client may send the same chunk again.
// The run's file is encrypted as it is written (recording-cipher.ts, EncryptedAppender): no
// byte of a backup recording is ever on disk in plaintext; its hash and size are the plaintext's.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import path from 'node:path';
import type { DayState } from '../../shared/assessment.ts';
import { FALLBACK_MAX_CHUNK_BYTES, type FallbackRefusal } from '../../shared/recording-upload.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { EncryptedAppender, openDecrypting, type RecordingMasterKey } from './recording-cipher.ts';

/** A stretch of time in which the server's recorder was failed or restarting for a phase. */
export interface DownWindow {
  from: number;
  /** null: still down. */
  to: number | null;
}

export interface FallbackLimits {
  runBytes: number;
  sessionBytes: number;
  /** Below this much free disk (after the chunk) nothing is stored. */
  minFreeBytes: number;
}

export interface FallbackChunk {
  sessionId: string;
  uploaderId: string;
  day: DayState | null;
  phaseIndex: number;
  seq: number;
  run: number;
  /** When the run started (server clock, as the page reckons it). */
  runStartedAt: number;
  declaredBytes: number | undefined;
  body: Readable;
}

export type FallbackOutcome = { ok: true } | { ok: false; reason: FallbackRefusal; message: string; expectedSeq?: number };

/** How far a run's claimed start may lie outside a down window (page clock error, the
 *  recorder state reaching the page late). */
const WINDOW_SLACK_MS = 5_000;

interface RunRow {
  id: string;
  file: string;
  bytes: number;
}

export class FallbackUploads {
  private readonly db: Database;
  private readonly dir: string;
  /** Where new runs go (below `dir`), and the node column of their rows (several nodes). */
  private readonly writeDir: string;
  private readonly node: string | null;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly limits: FallbackLimits;
  private readonly key: RecordingMasterKey;
  /** Settles once start-up has encrypted files from before encryption (a run may be one). */
  private readonly ready: () => Promise<void>;
  private readonly downWindows: (sessionId: string, phaseIndex: number) => readonly DownWindow[];
  /** Running SHA-256 per run file (each chunk is hashed once, as it streams in). */
  private readonly hashes = new Map<string, { hash: Hash; bytes: number }>();
  /** One upload at a time per (session, phase, uploader): chunks are ordered. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    deps: {
      db: Database;
      dir: string;
      writeDir?: string;
      node?: string;
      audit: AuditRepo;
      log: Logger;
      key: RecordingMasterKey;
      ready: () => Promise<void>;
      downWindows: (sessionId: string, phaseIndex: number) => readonly DownWindow[];
    },
    limits: FallbackLimits,
  ) {
    this.key = deps.key;
    this.ready = deps.ready;
    this.db = deps.db;
    this.dir = deps.dir;
    this.writeDir = deps.writeDir ?? deps.dir;
    this.node = deps.node ?? null;
    this.audit = deps.audit;
    this.log = deps.log;
    this.limits = limits;
    this.downWindows = deps.downWindows;
  }

  receive(chunk: FallbackChunk): Promise<FallbackOutcome> {
    const key = `${chunk.sessionId}:${chunk.phaseIndex}:${chunk.uploaderId}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.receiveInOrder(chunk));
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  private async receiveInOrder(c: FallbackChunk): Promise<FallbackOutcome> {
    await this.ready();
    const refusal = this.refusalBeforeBody(c);
    if (refusal) return refusal;
    const existing = this.runRow(c);
    const runUsed = existing?.bytes ?? 0;
    const sessionUsed = this.sessionBytes(c.sessionId);
    const room = Math.min(FALLBACK_MAX_CHUNK_BYTES, this.limits.runBytes - runUsed, this.limits.sessionBytes - sessionUsed);
    const overReason = (): FallbackRefusal =>
      this.limits.sessionBytes - sessionUsed <= Math.min(FALLBACK_MAX_CHUNK_BYTES, this.limits.runBytes - runUsed)
        ? 'SESSION_TOO_LARGE'
        : this.limits.runBytes - runUsed <= FALLBACK_MAX_CHUNK_BYTES
          ? 'RUN_TOO_LARGE'
          : 'CHUNK_TOO_LARGE';
    if (room <= 0 || (c.declaredBytes !== undefined && c.declaredBytes > room)) {
      return { ok: false, reason: overReason(), message: `the chunk does not fit (at most ${Math.max(room, 0)} more bytes are accepted)` };
    }
    if (c.declaredBytes === 0) return { ok: false, reason: 'EMPTY_CHUNK', message: 'the body must be a non-empty recording chunk' };
    const free = freeBytes(this.dir);
    if (free - (c.declaredBytes ?? room) < this.limits.minFreeBytes) {
      this.log.error({ sessionId: c.sessionId, freeBytes: free }, 'DISK NEARLY FULL: backup recording chunk refused');
      return { ok: false, reason: 'DISK_FULL', message: "the server's disk is nearly full" };
    }

    const row = existing ?? { id: randomUUID(), file: path.relative(this.dir, path.join(this.writeDir, c.sessionId, `${randomUUID()}.webm`)), bytes: 0 };
    const file = path.join(this.dir, row.file);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // What the database has is what counts: the appender drops anything a crash left after it.
    const hash = (await this.runningHash(row.id, file, row.bytes)).copy();
    const appender = EncryptedAppender.open(file, this.key, existing ? row.bytes : 0);
    const received = await pump(c.body, appender, room, (data) => hash.update(data));
    const failed = received.outcome !== 'complete' || received.bytes === 0 || (c.declaredBytes !== undefined && received.bytes !== c.declaredBytes);
    let written = !failed;
    if (written) {
      // The chunk counts only once it is on disk.
      try {
        appender.finish();
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'backup recording chunk could not be written');
        written = false;
        received.outcome = 'failed';
      }
    }
    if (!written) {
      appender.rollback(!existing);
      if (received.outcome === 'too-large') return { ok: false, reason: overReason(), message: `the chunk does not fit (at most ${room} more bytes are accepted)` };
      if (received.outcome === 'failed') return { ok: false, reason: 'DISK_FULL', message: 'the chunk could not be written' };
      if (received.bytes === 0 && received.outcome === 'complete') return { ok: false, reason: 'EMPTY_CHUNK', message: 'the body must be a non-empty recording chunk' };
      return { ok: false, reason: 'BODY_INCOMPLETE', message: 'the body ended early; send the chunk again' };
    }
    const bytes = row.bytes + received.bytes;
    const sha256 = hash.copy().digest('hex');
    if (!existing) {
      this.db
        .prepare(
          `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, ended_at, bytes, sha256, chunks, node)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'fallback', ?, ?, ?, ?, 1, ?)`,
        )
        .run(row.id, c.sessionId, c.phaseIndex, scenarioKeyOf(c.day!, c.phaseIndex), c.uploaderId, c.run, this.phaseStartedAt(c.day!, c.phaseIndex), row.file, c.runStartedAt, Date.now(), bytes, sha256, this.node);
      this.log.warn({ sessionId: c.sessionId, phaseIndex: c.phaseIndex, run: c.run }, 'backup recording from the lead observer page started');
      this.audit.append({ sessionId: c.sessionId, actorParticipantId: c.uploaderId, action: 'recording.fallback-started', detail: { id: row.id, phaseIndex: c.phaseIndex, run: c.run } });
    } else {
      this.db.prepare('UPDATE recordings SET bytes = ?, sha256 = ?, ended_at = ?, chunks = chunks + 1 WHERE id = ?').run(bytes, sha256, Date.now(), row.id);
    }
    this.hashes.set(row.id, { hash, bytes });
    return { ok: true };
  }

  /** Everything decided from the request line and headers alone. */
  private refusalBeforeBody(c: FallbackChunk): FallbackOutcome | null {
    const day = c.day;
    if (!day || (day.status !== 'running' && day.status !== 'paused') || this.inModeration(c.sessionId)) {
      return { ok: false, reason: 'DAY_NOT_LIVE', message: 'backup recordings are taken only while the day is running' };
    }
    const phase = day.phases[c.phaseIndex];
    if (!phase || (phase.kind !== 'scenario' && phase.kind !== 'reflectiveConversation') || c.phaseIndex > day.phaseIndex) {
      return { ok: false, reason: 'PHASE_NOT_RECORDED', message: 'that phase is not recorded, or has not started' };
    }
    const expected = this.storedChunks(c);
    if (c.seq !== expected) return { ok: false, reason: 'OUT_OF_ORDER', message: `expected chunk ${expected}`, expectedSeq: expected };
    if (!this.runRow(c) && !this.recorderWasDown(c)) {
      this.log.warn({ sessionId: c.sessionId, phaseIndex: c.phaseIndex, run: c.run }, 'backup recording refused: the server recorder was not down');
      return { ok: false, reason: 'RECORDER_NOT_DOWN', message: 'the server was recording this phase when this backup began' };
    }
    return null;
  }

  private recorderWasDown(c: FallbackChunk): boolean {
    const now = Date.now();
    if (c.runStartedAt > now + WINDOW_SLACK_MS) return false;
    return this.downWindows(c.sessionId, c.phaseIndex).some(
      (w) => c.runStartedAt >= w.from - WINDOW_SLACK_MS && c.runStartedAt <= (w.to ?? now) + WINDOW_SLACK_MS,
    );
  }

  /** When the phase began (evidence-note times count from here): the day says so for the
   *  current phase, the server recorder's rows for an earlier one. */
  private phaseStartedAt(day: DayState, phaseIndex: number): number {
    if (phaseIndex === day.phaseIndex && day.phaseStartedAt) return day.phaseStartedAt;
    const row = this.db
      .prepare('SELECT phase_started_at AS at FROM recordings WHERE session_id = ? AND phase_index = ? LIMIT 1')
      .get(day.sessionId, phaseIndex) as { at: number } | undefined;
    return row?.at ?? Date.now();
  }

  private inModeration(sessionId: string): boolean {
    return this.db.prepare('SELECT 1 FROM moderation_results WHERE session_id = ?').get(sessionId) !== undefined;
  }

  private storedChunks(c: FallbackChunk): number {
    const { n } = this.db
      .prepare("SELECT COALESCE(SUM(chunks), 0) AS n FROM recordings WHERE session_id = ? AND phase_index = ? AND participant_id = ? AND status = 'fallback'")
      .get(c.sessionId, c.phaseIndex, c.uploaderId) as { n: number };
    return n;
  }

  private runRow(c: FallbackChunk): RunRow | undefined {
    const row = this.db
      .prepare("SELECT id, file, bytes FROM recordings WHERE session_id = ? AND phase_index = ? AND participant_id = ? AND status = 'fallback' AND segment = ?")
      .get(c.sessionId, c.phaseIndex, c.uploaderId, c.run) as { id: string; file: string; bytes: number | null } | undefined;
    return row ? { id: row.id, file: row.file, bytes: row.bytes ?? 0 } : undefined;
  }

  private sessionBytes(sessionId: string): number {
    const { n } = this.db
      .prepare("SELECT COALESCE(SUM(bytes), 0) AS n FROM recordings WHERE session_id = ? AND status = 'fallback'")
      .get(sessionId) as { n: number };
    return n;
  }

  /** The hash of the run's first `bytes` bytes (decrypted once after a restart). */
  private async runningHash(id: string, file: string, bytes: number): Promise<Hash> {
    const known = this.hashes.get(id);
    if (known && known.bytes === bytes) return known.hash;
    const hash = createHash('sha256');
    if (bytes > 0) {
      const { stream } = await openDecrypting(file, this.key, { start: 0, end: bytes - 1 });
      for await (const part of stream) hash.update(part as Buffer);
    }
    this.hashes.set(id, { hash, bytes });
    return hash;
  }
}

/** Copies the body into `out` (encrypting as it goes), at most `limit` bytes; stops reading
 *  (without draining) past it. Writes are synchronous, a 64 KiB chunk at a time. */
function pump(
  body: Readable,
  out: EncryptedAppender,
  limit: number,
  onData: (data: Buffer) => void,
): Promise<{ outcome: 'complete' | 'too-large' | 'aborted' | 'failed'; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const finish = (outcome: 'complete' | 'too-large' | 'aborted' | 'failed'): void => {
      if (settled) return;
      settled = true;
      body.off('data', onChunk);
      body.off('end', onEnd);
      body.off('close', onClose);
      body.off('error', onAbort);
      if (outcome !== 'complete') body.pause();
      resolve({ outcome, bytes });
    };
    const onChunk = (data: Buffer): void => {
      bytes += data.length;
      if (bytes > limit) return finish('too-large');
      onData(data);
      try {
        out.write(data);
      } catch {
        finish('failed');
      }
    };
    const onEnd = (): void => finish('complete');
    const onClose = (): void => finish('aborted');
    const onAbort = (): void => finish('aborted');
    body.on('data', onChunk);
    body.once('end', onEnd);
    body.once('close', onClose);
    body.once('error', onAbort);
  });
}

function scenarioKeyOf(day: DayState, phaseIndex: number): string {
  const phase = day.phases[phaseIndex]!;
  return phase.kind === 'scenario' ? String(phase.scenario) : 'reflective';
}


export function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
