// Records every scenario and reflective conversation on the server: starts a SessionRecorder
// when such a phase begins and stops it when the phase ends, stores each segment with its
// SHA-256, size and duration, refuses to start on a nearly full disk (loudly), deletes
// recordings past the retention period (logging what it removed), and tells every client
// the recorder's state.
import { spawn } from 'node:child_process';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { RecordingRow } from '../../shared/api.ts';
import type { DayState } from '../../shared/assessment.ts';
import type { RecordingStatus } from '../../shared/protocol.ts';
import type { RoomRegistry } from '../../media/rooms.ts';
import { SessionRecorder, type SegmentSink } from '../../media/recording/session-recorder.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';

export interface RecordingOptions {
  /** Below this much free space no new recording starts. */
  minFreeBytes: number;
  retentionDays: number;
}

interface ServiceEvents {
  status: [sessionId: string, status: RecordingStatus];
}

interface Active {
  phaseIndex: number;
  recorder: SessionRecorder | null;
}

export class RecordingService extends EventEmitter<ServiceEvents> {
  readonly dir: string;
  private readonly db: Database;
  private readonly rooms: RoomRegistry;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly options: RecordingOptions;
  private readonly stageFor: (sessionId: string) => ReadonlySet<string>;
  private readonly active = new Map<string, Active>();
  private readonly statuses = new Map<string, RecordingStatus>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly fallbackHashes = new Map<string, Hash>();

  constructor(
    deps: { db: Database; dataDir: string; rooms: RoomRegistry; assessment: AssessmentService; audit: AuditRepo; log: Logger },
    options: RecordingOptions,
  ) {
    super();
    this.db = deps.db;
    this.rooms = deps.rooms;
    this.audit = deps.audit;
    this.log = deps.log.child({ module: 'recording' });
    this.options = options;
    this.stageFor = (sessionId) => deps.assessment.stageFor(sessionId);
    this.dir = path.join(deps.dataDir, 'recordings');
    fs.mkdirSync(this.dir, { recursive: true });
    deps.assessment.on('dayChanged', (sessionId, state) => void this.onDay(sessionId, state));
  }

  /** Resumes recording of phases that were running when the server stopped; starts retention. */
  start(assessment: AssessmentService): void {
    // Segments left "recording" by a crash were cut off: say so.
    this.db.prepare("UPDATE recordings SET status = 'interrupted', ended_at = COALESCE(ended_at, ?) WHERE status = 'recording'").run(Date.now());
    const rows = this.db.prepare('SELECT session_id FROM assessment_days WHERE status IN (?, ?)').all('running', 'paused') as Array<{ session_id: string }>;
    for (const { session_id } of rows) {
      const state = assessment.dayState(session_id);
      if (state) void this.onDay(session_id, state);
    }
    this.applyRetention();
    this.retentionTimer = setInterval(() => this.applyRetention(), 3600_000);
    this.retentionTimer.unref();
  }

  status(sessionId: string): RecordingStatus {
    return this.statuses.get(sessionId) ?? { state: 'off', detail: 'not recording', phaseIndex: null, since: Date.now() };
  }

  /** ffmpeg pids of a session's running segments. */
  pids(sessionId: string): number[] {
    return this.active.get(sessionId)?.recorder?.pids ?? [];
  }

  list(sessionId: string): RecordingRow[] {
    const rows = this.db
      .prepare("SELECT * FROM recordings WHERE session_id = ? AND status != 'deleted' ORDER BY phase_index, participant_id, segment")
      .all(sessionId) as Array<Record<string, unknown>>;
    return rows.map(toRow);
  }

  get(id: string): (RecordingRow & { file: string }) | undefined {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? { ...toRow(row), file: path.join(this.dir, String(row.file)) } : undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    await Promise.all([...this.active.values()].map((a) => a.recorder?.stop()));
    this.active.clear();
    // From here the database may be closed: late segment events change nothing.
    this.closed = true;
    this.fallbackHashes.clear();
  }

  private async onDay(sessionId: string, state: DayState): Promise<void> {
    const phase = state.status === 'running' || state.status === 'paused' ? state.phases[state.phaseIndex] : undefined;
    const recordable = phase?.kind === 'scenario' || phase?.kind === 'reflectiveConversation';
    const current = this.active.get(sessionId);
    if (current && current.phaseIndex === state.phaseIndex && recordable) return;
    if (current) {
      this.active.delete(sessionId);
      await current.recorder?.stop();
    }
    if (!recordable || !phase) {
      if (current) this.setStatus(sessionId, { state: 'stopped', detail: 'recording stopped', phaseIndex: state.phaseIndex });
      return;
    }
    const scenarioKey = phase.kind === 'scenario' ? String(phase.scenario) : 'reflective';
    const entry: Active = { phaseIndex: state.phaseIndex, recorder: null };
    this.active.set(sessionId, entry);
    const free = freeBytes(this.dir);
    if (free < this.options.minFreeBytes) {
      this.log.error({ sessionId, freeBytes: free }, 'DISK NEARLY FULL: recording not started');
      this.setStatus(sessionId, { state: 'failed', detail: `not recording: the server's disk is nearly full (${Math.round(free / 1e6)} MB free)`, phaseIndex: state.phaseIndex });
      return;
    }
    const room = await this.rooms.getOrCreate(sessionId);
    if (this.active.get(sessionId) !== entry) return;
    // The recorder follows whoever is on stage; make sure the room already has this phase's stage.
    room.setStage(this.stageFor(sessionId));
    const recorder = new SessionRecorder(room, this.sinkFor(sessionId, state.phaseIndex, scenarioKey, state.phaseStartedAt ?? Date.now()), this.log);
    entry.recorder = recorder;
    recorder.on('state', (s, detail) => this.setStatus(sessionId, { state: s, detail, phaseIndex: state.phaseIndex }));
    this.setStatus(sessionId, { state: 'recording', detail: 'recording', phaseIndex: state.phaseIndex });
    this.audit.append({ sessionId, action: 'recording.started', detail: { phaseIndex: state.phaseIndex, scenario: scenarioKey } });
  }

  private sinkFor(sessionId: string, phaseIndex: number, scenarioKey: string, phaseStartedAt: number): SegmentSink {
    const sessionDir = path.join(this.dir, sessionId);
    fs.mkdirSync(sessionDir, { recursive: true });
    return {
      begin: (participantId, segment) => {
        if (this.closed) throw new Error('the recording service is closed');
        const id = randomUUID();
        const relative = path.join(sessionId, `${id}.webm`);
        this.db
          .prepare(
            `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'recording', ?)`,
          )
          .run(id, sessionId, phaseIndex, scenarioKey, participantId, segment, phaseStartedAt, relative, Date.now());
        return { id, file: path.join(this.dir, relative) };
      },
      end: (id, outcome) => this.finalise(id, outcome),
    };
  }

  /** Size, SHA-256 and duration of a finished segment file. */
  private async finalise(id: string, outcome: 'complete' | 'interrupted'): Promise<void> {
    if (this.closed) return;
    const row = this.get(id);
    if (!row) return;
    let bytes = 0;
    let sha256: string | null = null;
    try {
      const data = fs.readFileSync(row.file);
      bytes = data.length;
      sha256 = createHash('sha256').update(data).digest('hex');
    } catch {
      // ffmpeg never wrote the file (failed at once): the row says so.
    }
    if (this.closed) return;
    if (bytes === 0) {
      // Nothing reached ffmpeg (the segment was replaced at once): no evidence to keep.
      fs.rmSync(row.file, { force: true });
      this.db.prepare('DELETE FROM recordings WHERE id = ?').run(id);
      return;
    }
    // A segment cut off by a killed ffmpeg has no duration or seek index: remux it (copy).
    if (outcome === 'interrupted') {
      await remux(row.file);
      const data = fs.readFileSync(row.file);
      bytes = data.length;
      sha256 = createHash('sha256').update(data).digest('hex');
    }
    const durationMs = await probeDurationMs(row.file);
    if (this.closed) return;
    this.db
      .prepare('UPDATE recordings SET status = ?, ended_at = ?, bytes = ?, sha256 = ?, duration_ms = ? WHERE id = ?')
      .run(outcome, Date.now(), bytes, sha256, durationMs, id);
  }

  /**
   * Appends one chunk of the lead observer's backup recording (MediaRecorder on their page,
   * used while the server recorder is down). Chunks come in order, numbered per phase across
   * the page's recorder runs (`seq` 0, 1, 2, …); each run (a new MediaRecorder, a new WebM
   * header) is its own file, and `runStartedAt` (server clock) places it on the timeline.
   */
  appendFallbackChunk(
    sessionId: string,
    phase: { index: number; scenarioKey: string; startedAt: number },
    uploaderId: string,
    upload: { seq: number; run: number; runStartedAt: number },
    chunk: Buffer,
  ): { ok: true } | { ok: false; expectedSeq: number } {
    const { n: expected } = this.db
      .prepare("SELECT COALESCE(SUM(chunks), 0) AS n FROM recordings WHERE session_id = ? AND phase_index = ? AND participant_id = ? AND status = 'fallback'")
      .get(sessionId, phase.index, uploaderId) as { n: number };
    if (upload.seq !== expected) return { ok: false, expectedSeq: expected };
    let row = this.db
      .prepare("SELECT id, file FROM recordings WHERE session_id = ? AND phase_index = ? AND participant_id = ? AND status = 'fallback' AND segment = ?")
      .get(sessionId, phase.index, uploaderId, upload.run) as { id: string; file: string } | undefined;
    if (!row) {
      const id = randomUUID();
      const relative = path.join(sessionId, `${id}.webm`);
      fs.mkdirSync(path.join(this.dir, sessionId), { recursive: true });
      this.db
        .prepare(
          `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, bytes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'fallback', ?, 0)`,
        )
        .run(id, sessionId, phase.index, phase.scenarioKey, uploaderId, upload.run, phase.startedAt, relative, upload.runStartedAt);
      row = { id, file: relative };
      this.log.warn({ sessionId, phaseIndex: phase.index, run: upload.run }, 'backup recording from the lead observer page started');
      this.audit.append({ sessionId, actorParticipantId: uploaderId, action: 'recording.fallback-started', detail: { id, phaseIndex: phase.index, run: upload.run } });
    }
    const file = path.join(this.dir, row.file);
    // A running hash per backup file: each chunk is hashed once (after a restart the file so
    // far is read once to resume it).
    let hash = this.fallbackHashes.get(row.id);
    if (!hash) {
      hash = createHash('sha256');
      if (fs.existsSync(file)) hash.update(fs.readFileSync(file));
      this.fallbackHashes.set(row.id, hash);
    }
    fs.appendFileSync(file, chunk);
    hash.update(chunk);
    this.db
      .prepare('UPDATE recordings SET bytes = ?, sha256 = ?, ended_at = ?, chunks = chunks + 1 WHERE id = ?')
      .run(fs.statSync(file).size, hash.copy().digest('hex'), Date.now(), row.id);
    return { ok: true };
  }

  private applyRetention(): void {
    const cutoff = Date.now() - this.options.retentionDays * 86_400_000;
    const old = this.db
      .prepare("SELECT id, session_id, file FROM recordings WHERE status != 'deleted' AND status != 'recording' AND ended_at < ?")
      .all(cutoff) as Array<{ id: string; session_id: string; file: string }>;
    for (const r of old) {
      fs.rmSync(path.join(this.dir, r.file), { force: true });
      this.db.prepare("UPDATE recordings SET status = 'deleted', deleted_at = ? WHERE id = ?").run(Date.now(), r.id);
      this.audit.append({ sessionId: r.session_id, action: 'recording.deleted', detail: { id: r.id, reason: `older than ${this.options.retentionDays} days` } });
      this.log.info({ id: r.id, sessionId: r.session_id, file: r.file }, 'recording deleted by retention');
    }
  }

  private setStatus(sessionId: string, status: Omit<RecordingStatus, 'since'>): void {
    const full = { ...status, since: Date.now() };
    this.statuses.set(sessionId, full);
    if (status.state === 'failed' || status.state === 'restarting') this.log.warn({ sessionId, ...status }, 'recording state');
    this.emit('status', sessionId, full);
  }
}

function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Rewrites a WebM in place with ffmpeg -c copy (keeps the original if that fails). */
function remux(file: string): Promise<void> {
  const out = `${file}.remux.webm`;
  return new Promise((resolve) => {
    const run = spawn('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-c', 'copy', '-y', out], { stdio: 'ignore' });
    run.on('close', (code) => {
      if (code === 0 && fs.existsSync(out) && fs.statSync(out).size > 0) fs.renameSync(out, file);
      else fs.rmSync(out, { force: true });
      resolve();
    });
    run.on('error', () => resolve());
  });
}

function probeDurationMs(file: string): Promise<number | null> {
  return new Promise((resolve) => {
    const probe = spawn('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
    probe.on('close', () => {
      const seconds = Number.parseFloat(out.trim());
      resolve(Number.isFinite(seconds) ? Math.round(seconds * 1000) : null);
    });
    probe.on('error', () => resolve(null));
  });
}

function toRow(r: Record<string, unknown>): RecordingRow {
  return {
    id: String(r.id),
    sessionId: String(r.session_id),
    phaseIndex: Number(r.phase_index),
    scenarioKey: String(r.scenario_key),
    participantId: String(r.participant_id),
    segment: Number(r.segment),
    phaseStartedAt: Number(r.phase_started_at),
    status: r.status as RecordingRow['status'],
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    bytes: r.bytes === null ? null : Number(r.bytes),
    sha256: (r.sha256 as string | null) ?? null,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  };
}
