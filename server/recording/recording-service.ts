// Records every scenario and reflective conversation on the server: starts a SessionRecorder
// when such a phase begins and stops it when the phase ends, stores a row for every segment
// with its SHA-256, size and duration, refuses to start on a nearly full disk (loudly),
// and tells every
// client the recorder's state. It remembers when the recorder was down for each phase: only
// then may the lead observer's page upload a backup recording (fallback-uploads.ts).
//
// After a crash (SIGKILL) of the server, start-up first ends any recorder child still alive
// (tied-child.ts), then completes every segment the crash cut off: remux, hash, size, duration.
//
// Files at rest are encrypted (recording-cipher.ts). ffmpeg writes plaintext while a segment
// records; once the segment is complete (remux, timing, hash, duration) it is encrypted beside
// it, flushed, and renamed over the plaintext in the same tick as its row is marked finished,
// so no finished row ever points at plaintext while the server runs. A crash before the rename
// leaves the plaintext (finalised again, or encrypted, at the next start); start-up also
// encrypts any finished file still in plaintext (from before encryption) and removes standby
// files and half-written encryptions nobody owns. Hash and size stay those of the plaintext
// media: the evidence is the WebM, which `openRecordingStream` gives back byte for byte.
//
// With several studio nodes (one shared data directory), a node records a session only while it
// holds the session's lease (server/cluster/session-leases.ts), stores each segment's row under
// that lease's fencing token, writes under recordings/nodes/<node>/ and, at start-up, ends,
// repairs and clears only what it wrote itself: never another node's live segment. The cut
// segments of a node gone silent (server/cluster/node-presence.ts) are taken over and completed
// by a live node, from the shared data directory.
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { RecordingRow } from '../../shared/api.ts';
import type { DayState } from '../../shared/assessment.ts';
import type { RecordingStatus } from '../../shared/protocol.ts';
import type { Room } from '../../media/room.ts';
import type { RoomRegistry } from '../../media/rooms.ts';
import { RoomTaps } from '../../media/recording/room-taps.ts';
import { SessionRecorder, type SegmentSink } from '../../media/recording/session-recorder.ts';
import { processesMentioning, reapOrphans, spawnTied } from '../../media/recording/tied-child.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { NODE_GONE_AFTER_MS } from '../cluster/node-presence.ts';
import type { SessionLeases } from '../cluster/session-leases.ts';
import { FallbackUploads, freeBytes, type DownWindow } from './fallback-uploads.ts';
import { declareFrameTiming, fileSize, remux } from './webm-repair.ts';
import {
  EncryptedAppender,
  encryptedSize,
  encryptFile,
  encryptInPlace,
  fileIsEncrypted,
  openDecrypting,
  RecordingNotSealed,
  restoreUndo,
  sealingFile,
  type ByteRange,
  type OpenedRecording,
  type RecordingMasterKey,
} from './recording-cipher.ts';

export interface RecordingOptions {
  /** Below this much free space no new recording starts. */
  minFreeBytes: number;
  /** The recordings class's default retention period (server/data-protection/retention-run.ts deletes). */
  retentionDays: number;
  /** Caps on the lead observer's backup recording: per recorder run, and per session. */
  fallbackRunBytes: number;
  fallbackSessionBytes: number;
}

interface ServiceEvents {
  status: [sessionId: string, status: RecordingStatus];
}

interface Active {
  phaseIndex: number;
  recorder: SessionRecorder | null;
}

/** Deletes a stored recording's file (`file` relative to the recordings folder), for retention
 *  and erasure; the row saying so is theirs to write. */
export function removeRecordingFile(recordingsDir: string, file: string): void {
  const full = path.resolve(recordingsDir, file);
  if (!full.startsWith(path.resolve(recordingsDir) + path.sep)) throw new Error(`recording file outside the recordings folder: ${file}`);
  fs.rmSync(full, { force: true });
  // What encryption in place may have left beside it (recording-cipher.ts).
  fs.rmSync(`${full}.undo`, { force: true });
}

export class RecordingService extends EventEmitter<ServiceEvents> {
  readonly dir: string;
  /** Where this node's recorder writes (below `dir`: every node plays back every recording). */
  private readonly writeDir: string;
  /** With several nodes: this node's session leases (and its name: rows it wrote). */
  private readonly cluster: { leases: SessionLeases } | undefined;
  /** With several nodes: the check for gone nodes' cut segments, and the one running. */
  private adoptTimer: NodeJS.Timeout | undefined;
  private adopting: Promise<void> = Promise.resolve();
  /** Gone nodes' segments whose file this node cannot see (said once each). */
  private readonly unreachable = new Set<string>();
  private readonly db: Database;
  private readonly rooms: RoomRegistry;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly options: RecordingOptions;
  private readonly key: RecordingMasterKey;
  /** The master key (for code that writes or re-keys recording files: tests, key rotation). */
  get masterKey(): RecordingMasterKey {
    return this.key;
  }
  private readonly stageFor: (sessionId: string) => ReadonlySet<string>;
  private readonly active = new Map<string, Active>();
  /** Every camera and microphone of a running day's room, tapped ahead of the phases that record them. */
  private readonly taps = new Map<string, RoomTaps>();
  private readonly statuses = new Map<string, RecordingStatus>();
  /**
   * Each session's day changes, handled one after another in the order they happened: a change
   * that arrives while the last is still being handled (a room being made, a segment being cut)
   * must not act on what that one has not finished, or it could stop the phase just started or
   * start a second recorder for it.
   */
  private readonly dayChanges = new Map<string, Promise<void>>();
  private closing = false;
  private closed = false;
  /** When the recorder was failed or restarting, per `${sessionId}:${phaseIndex}`. */
  private readonly down = new Map<string, DownWindow[]>();
  /** Segment files being completed (remux, hash): close waits for them. */
  private readonly finalising = new Set<Promise<void>>();
  /** Recorder children left by an earlier run, found before this run started any. */
  private readonly orphans: number[];
  /** Segments an earlier run left unfinished, found before this run began any. */
  private readonly cut: string[];
  /** The lead observer's backup recordings. */
  readonly fallback: FallbackUploads;
  /** Settles once start-up has ended orphaned recorders and repaired the segments they cut. */
  repaired: Promise<void> = Promise.resolve();

  constructor(
    deps: {
      db: Database;
      dataDir: string;
      rooms: RoomRegistry;
      assessment: AssessmentService;
      audit: AuditRepo;
      log: Logger;
      key: RecordingMasterKey;
      cluster?: { leases: SessionLeases };
    },
    options: RecordingOptions,
  ) {
    super();
    this.db = deps.db;
    this.key = deps.key;
    this.rooms = deps.rooms;
    this.audit = deps.audit;
    this.log = deps.log.child({ module: 'recording' });
    this.options = options;
    this.stageFor = (sessionId) => deps.assessment.stageFor(sessionId);
    this.dir = path.join(deps.dataDir, 'recordings');
    this.cluster = deps.cluster;
    this.writeDir = deps.cluster ? path.join(this.dir, 'nodes', deps.cluster.leases.node) : this.dir;
    fs.mkdirSync(this.writeDir, { recursive: true });
    // Taken before this run can start a recorder of its own (both are synchronous here).
    this.orphans = processesMentioning(`${this.writeDir}/`);
    this.cut = (
      this.db
        .prepare("SELECT id FROM recordings WHERE (status = 'recording' OR (status = 'interrupted' AND sha256 IS NULL)) AND COALESCE(node, '') = ?")
        .all(this.nodeColumn) as Array<{ id: string }>
    ).map((r) => r.id);
    this.fallback = new FallbackUploads(
      {
        db: this.db,
        dir: this.dir,
        writeDir: this.writeDir,
        ...(deps.cluster ? { node: deps.cluster.leases.node } : {}),
        audit: this.audit,
        log: this.log,
        key: this.key,
        ready: () => this.repaired,
        downWindows: (sessionId, phaseIndex) => this.down.get(`${sessionId}:${phaseIndex}`) ?? [],
      },
      { runBytes: options.fallbackRunBytes, sessionBytes: options.fallbackSessionBytes, minFreeBytes: options.minFreeBytes },
    );
    deps.assessment.on('dayChanged', (sessionId, state) => this.dayChanged(sessionId, state));
    // Taking a session's lease starts its recorder here (a new segment); losing it stops it.
    const followLease = (sessionId: string): void => {
      const state = deps.assessment.dayState(sessionId);
      if (state) this.dayChanged(sessionId, state);
    };
    deps.cluster?.leases.on('acquired', followLease);
    deps.cluster?.leases.on('lost', followLease);
  }

  /** The node column of the rows this node writes ('' for the only process). */
  private get nodeColumn(): string {
    return this.cluster?.leases.node ?? '';
  }

  /** Resumes recording of phases that were running when the server stopped. */
  start(assessment: AssessmentService): void {
    this.repaired = this.repairAfterCrash();
    if (this.cluster) {
      this.adoptTimer = setInterval(() => {
        this.adopting = this.adopting.then(() => this.adoptFromGoneNodes());
      }, ADOPT_EVERY_MS);
      this.adoptTimer.unref();
    }
    const rows = this.db.prepare('SELECT session_id FROM assessment_days WHERE status IN (?, ?)').all('running', 'paused') as Array<{ session_id: string }>;
    for (const { session_id } of rows) {
      const state = assessment.dayState(session_id);
      if (state) this.dayChanged(session_id, state);
    }
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

  /**
   * A decrypting stream of a recording's media (all of it, or the inclusive byte range, or a
   * range chosen once the plaintext size is known). For playback, the subject access export
   * and backups. Throws RecordingNotSealed for a segment still being written.
   */
  async openRecordingStream(recording: { file: string } | string, range?: ByteRange | ((size: number) => ByteRange | null)): Promise<OpenedRecording> {
    const file = typeof recording === 'string' ? this.get(recording)?.file : recording.file;
    if (!file) throw Object.assign(new Error('no such recording'), { code: 'ENOENT' });
    if (!fileIsEncrypted(file)) {
      if (!fs.existsSync(file)) throw Object.assign(new Error('recording file missing'), { code: 'ENOENT' });
      throw new RecordingNotSealed('the recording is still being written');
    }
    return openDecrypting(file, this.key, range);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.adoptTimer);
    await this.adopting;
    await Promise.all(this.dayChanges.values());
    await Promise.all([...this.active.values()].map((a) => a.recorder?.stop()));
    this.active.clear();
    for (const taps of this.taps.values()) taps.close();
    this.taps.clear();
    await this.repaired;
    await Promise.all(this.finalising);
    // From here the database may be closed: late segment events change nothing.
    this.closed = true;
  }

  /**
   * Ends recorder children an earlier run left alive (SIGTERM first: ffmpeg then closes its
   * file properly), then completes the segments that run cut off, one at a time.
   */
  private async repairAfterCrash(): Promise<void> {
    if (this.orphans.length > 0) {
      const ended = await reapOrphans(`${this.writeDir}/`);
      this.log.warn({ pids: ended }, 'recorder processes left by an earlier run ended');
    }
    for (const id of this.cut) {
      if (this.closed) return;
      await this.finalise(id, 'interrupted', { repair: true });
      this.log.warn({ id, ...this.get(id) }, 'segment cut off by a crash repaired');
    }
    await this.sealLeftovers();
  }

  /**
   * Encrypts every finished recording still in plaintext (a crash between its row and its
   * rename, or a file from before encryption) and removes what no row owns: a standby's file
   * left by a crash, a half-written encryption, an undo record of a finished append.
   */
  private async sealLeftovers(): Promise<void> {
    const rows = this.db.prepare("SELECT id, file, status, bytes, node FROM recordings WHERE status != 'deleted'").all() as Array<{
      id: string;
      file: string;
      status: string;
      bytes: number | null;
      node: string | null;
    }>;
    const owned = new Set(rows.map((r) => path.join(this.dir, r.file)));
    // Another node's rows are its own to complete (it may be writing them now).
    for (const r of rows.filter((row) => (row.node ?? '') === this.nodeColumn)) {
      if (this.closed) return;
      const file = path.join(this.dir, r.file);
      fs.rmSync(sealingFile(file), { force: true });
      if (r.status === 'fallback') {
        // A backup recording's append cut off by the crash: back to what its row says.
        restoreUndo(file);
        if (fileIsEncrypted(file) && fs.statSync(file).size !== encryptedSize(r.bytes ?? 0)) {
          EncryptedAppender.open(file, this.key, r.bytes ?? 0).finish();
          this.log.warn({ id: r.id }, 'backup recording cut back to its last stored chunk');
        }
      }
      if (r.status === 'recording' || !fs.existsSync(file) || fileIsEncrypted(file)) continue;
      await encryptInPlace(file, this.key);
      this.log.warn({ id: r.id, status: r.status }, 'plaintext recording encrypted at start-up');
    }
    for (const session of fs.readdirSync(this.writeDir, { withFileTypes: true })) {
      if (!session.isDirectory()) continue;
      for (const entry of fs.readdirSync(path.join(this.writeDir, session.name), { withFileTypes: true })) {
        const file = path.join(this.writeDir, session.name, entry.name);
        // Only what the recorder itself makes (a segment or standby named by its id, a half-done
        // encryption, remux or undo record); `.undo` records of live rows are applied above.
        if (!entry.isFile() || owned.has(file) || !RECORDER_LEFTOVER.test(entry.name)) continue;
        if (entry.name.endsWith('.undo') && owned.has(file.slice(0, -'.undo'.length))) continue;
        fs.rmSync(file, { force: true });
        this.log.warn({ file: path.relative(this.dir, file) }, 'recording file no row owns removed at start-up');
      }
    }
  }

  /**
   * Completes the segments a node gone silent (NODE_GONE_AFTER_MS) left cut off, as that node
   * would at its next start: each row is first made to name this node, in one statement that
   * holds only while that node is still gone, so no two live nodes complete the same segment and
   * the gone node, should it come back, leaves it alone. Only segments whose file this node can
   * see (the data directory is shared) are taken; never throws.
   */
  private async adoptFromGoneNodes(): Promise<void> {
    if (this.closing) return;
    try {
      const goneBefore = Date.now() - NODE_GONE_AFTER_MS;
      const live = 'SELECT node FROM cluster_nodes WHERE seen_at >= ?';
      const cut = this.db
        .prepare(
          `SELECT id, file, node FROM recordings
           WHERE (status = 'recording' OR (status = 'interrupted' AND sha256 IS NULL)) AND node IS NOT NULL AND node <> '' AND node <> ? AND node NOT IN (${live})`,
        )
        .all(this.nodeColumn, goneBefore) as Array<{ id: string; file: string; node: string }>;
      for (const row of cut) {
        if (this.closing) return;
        if (!fs.existsSync(path.join(this.dir, row.file))) {
          if (!this.unreachable.has(row.id)) this.log.warn({ id: row.id, node: row.node, file: row.file }, 'a gone node cut a segment this node cannot see: start that node again to complete it');
          this.unreachable.add(row.id);
          continue;
        }
        const taken = this.db
          .prepare(`UPDATE recordings SET node = ? WHERE id = ? AND node = ? AND (status = 'recording' OR (status = 'interrupted' AND sha256 IS NULL)) AND node NOT IN (${live})`)
          .run(this.nodeColumn, row.id, row.node, goneBefore);
        if (Number(taken.changes) !== 1) continue;
        this.log.warn({ id: row.id, gone: row.node }, 'segment cut off by a node gone silent taken over');
        const done = this.finalise(row.id, 'interrupted', { repair: true });
        this.finalising.add(done);
        await done.finally(() => this.finalising.delete(done));
        this.log.warn({ id: row.id, ...this.get(row.id) }, 'segment of a gone node repaired');
      }
    } catch (error) {
      this.log.error({ err: (error as Error).message }, "completing a gone node's cut segments failed; tried again later");
    }
  }

  private dayChanged(sessionId: string, state: DayState): void {
    const handled = (this.dayChanges.get(sessionId) ?? Promise.resolve())
      .then(() => (this.closing ? undefined : this.onDay(sessionId, state)))
      .catch((err: unknown) => this.log.error({ err, sessionId, phaseIndex: state.phaseIndex }, 'recording did not follow a day change'));
    this.dayChanges.set(sessionId, handled);
    void handled.then(() => {
      if (this.dayChanges.get(sessionId) === handled) this.dayChanges.delete(sessionId);
    });
  }

  private async onDay(sessionId: string, state: DayState): Promise<void> {
    // With several nodes, only the lease holder records (to the others the day is as if over).
    const dayLive = (state.status === 'running' || state.status === 'paused') && (!this.cluster || this.cluster.leases.holds(sessionId));
    const phase = dayLive ? state.phases[state.phaseIndex] : undefined;
    const recordable = phase?.kind === 'scenario' || phase?.kind === 'reflectiveConversation';
    if (dayLive && !this.taps.get(sessionId)?.open) this.tapsFor(sessionId, await this.rooms.getOrCreate(sessionId));
    const current = this.active.get(sessionId);
    if (current && current.phaseIndex === state.phaseIndex && recordable) return;
    // A recorded phase begins: its cameras are asked for a keyframe before anything else.
    if (recordable) this.taps.get(sessionId)?.requestKeyframes(this.stageFor(sessionId));
    if (current) {
      this.active.delete(sessionId);
      // The phase ended when the next one began: that is where its recording is cut.
      await current.recorder?.stop(dayLive ? (state.phaseStartedAt ?? Date.now()) : Date.now());
    }
    if (!dayLive) {
      this.taps.get(sessionId)?.close();
      this.taps.delete(sessionId);
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
    const taps = this.tapsFor(sessionId, room);
    if (!taps) return;
    const phaseStartedAt = state.phaseStartedAt ?? Date.now();
    const recorder = new SessionRecorder(room, taps, this.sinkFor(sessionId, state.phaseIndex, scenarioKey, phaseStartedAt), this.log, phaseStartedAt);
    entry.recorder = recorder;
    recorder.on('state', (s, detail) => this.setStatus(sessionId, { state: s, detail, phaseIndex: state.phaseIndex }));
    this.setStatus(sessionId, { state: 'recording', detail: 'recording', phaseIndex: state.phaseIndex });
    this.audit.append({ sessionId, job: 'recorder', action: 'recording.started', detail: { phaseIndex: state.phaseIndex, scenario: scenarioKey } });
  }

  /** The room's taps (new ones if the room was closed and made again since). */
  private tapsFor(sessionId: string, room: Room): RoomTaps | undefined {
    const existing = this.taps.get(sessionId);
    if (existing?.open && existing.room === room) return existing;
    existing?.close();
    if (this.closed) return undefined;
    const taps = new RoomTaps(room, this.log);
    this.taps.set(sessionId, taps);
    return taps;
  }

  private sinkFor(sessionId: string, phaseIndex: number, scenarioKey: string, phaseStartedAt: number): SegmentSink {
    const sessionDir = path.join(this.writeDir, sessionId);
    fs.mkdirSync(sessionDir, { recursive: true });
    return {
      storedSegments: (participantId) =>
        Number(
          (
            this.db.prepare("SELECT COALESCE(MAX(segment), 0) AS last FROM recordings WHERE session_id = ? AND phase_index = ? AND participant_id = ? AND status != 'fallback'").get(sessionId, phaseIndex, participantId) as {
              last: number | bigint;
            }
          ).last,
        ),
      reserve: () => {
        const id = randomUUID();
        return { id, file: path.join(sessionDir, `${id}.webm`) };
      },
      begin: (reserved, participantId, segment, fromMs) => {
        if (this.closed) throw new Error('the recording service is closed');
        const relative = path.relative(this.dir, reserved.file);
        const store = (): void => {
          this.db
            .prepare(
              `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, node)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'recording', ?, ?)`,
            )
            .run(reserved.id, sessionId, phaseIndex, scenarioKey, participantId, segment, phaseStartedAt, relative, Math.round(fromMs), this.cluster?.leases.node ?? null);
        };
        // Under the lease's fencing token: a node that lost the session stores no segment of it.
        if (!this.cluster) store();
        else if (!this.cluster.leases.fenced(sessionId, store)) throw new Error(`this node (${this.cluster.leases.node}) no longer holds the session: segment not stored`);
      },
      timed: (id, timing) => {
        if (this.closed) return;
        this.db
          .prepare('UPDATE recordings SET started_at = ?, sender_started_at = ?, timing = ? WHERE id = ?')
          .run(timing.mediaSince, timing.senderSince === null ? null : Math.round(timing.senderSince), timing.timing, id);
      },
      end: (id, outcome) => {
        const done = this.finalise(id, outcome);
        this.finalising.add(done);
        void done.finally(() => this.finalising.delete(done));
        return done;
      },
    };
  }

  /**
   * Size, SHA-256 and duration of a finished segment file. A row stays for every segment, even
   * one that holds nothing (it says that a recorder ran and what it got). A segment whose
   * ffmpeg was killed has no index or duration: a copy-remux completes it first. Every
   * segment's frame timing is declared before the hash (webm-repair.ts). A repair (after a
   * crash, or of a gone node's segment) runs long after the media stopped: the segment then
   * ended where its media ends, not when it was repaired.
   */
  private async finalise(id: string, outcome: 'complete' | 'interrupted', how: { repair?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    const row = this.get(id);
    if (!row) return;
    if (!this.writes(id)) {
      // Taken over by another node while this one was silent: it is that node's to complete.
      this.log.warn({ id }, 'segment taken over by another node while this one was silent: left to it');
      return;
    }
    fs.rmSync(`${row.file}.sdp`, { force: true });
    fs.rmSync(`${row.file}.remux.webm`, { force: true });
    const size = fileSize(row.file);
    if (outcome === 'interrupted' && size > 0) await remux(row.file);
    if (!(await declareFrameTiming(row.file))) this.log.warn({ id, file: row.file }, 'segment frame timing not declared: decoders may guess a frame rate');
    const bytes = fileSize(row.file);
    const sha256 = await sha256Of(row.file);
    const durationMs = bytes > 0 ? await probeDurationMs(row.file) : 0;
    // Encrypted beside the plaintext; the rename follows the row's update in the same tick.
    // (No file: ffmpeg never created one; the row says 0 bytes and there is nothing to serve.)
    const sealed = sealingFile(row.file);
    const present = fs.existsSync(row.file);
    if (present) await encryptFile(row.file, sealed, this.key);
    if (this.closed) {
      fs.rmSync(sealed, { force: true });
      return;
    }
    const stored = this.db
      .prepare("UPDATE recordings SET status = ?, ended_at = COALESCE(ended_at, ?), bytes = ?, sha256 = ?, duration_ms = ? WHERE id = ? AND COALESCE(node, '') = ?")
      .run(outcome, how.repair ? row.startedAt + (durationMs ?? 0) : Date.now(), bytes, sha256, durationMs, id, this.nodeColumn);
    if (Number(stored.changes) !== 1) {
      fs.rmSync(sealed, { force: true });
      return;
    }
    if (present) fs.renameSync(sealed, row.file);
  }

  /** Whether the segment's row names this node (the one that completes it). */
  private writes(id: string): boolean {
    const row = this.db.prepare('SELECT node FROM recordings WHERE id = ?').get(id) as { node: string | null } | undefined;
    return (row?.node ?? '') === this.nodeColumn;
  }

  private setStatus(sessionId: string, status: Omit<RecordingStatus, 'since'>): void {
    const full = { ...status, since: Date.now() };
    if (status.phaseIndex !== null) {
      const key = `${sessionId}:${status.phaseIndex}`;
      const windows = this.down.get(key) ?? [];
      const open = windows.find((w) => w.to === null);
      const isDown = status.state === 'failed' || status.state === 'restarting';
      if (isDown && !open) this.down.set(key, [...windows, { from: full.since, to: null }]);
      if (!isDown && open) open.to = full.since;
    }
    this.statuses.set(sessionId, full);
    if (status.state === 'failed' || status.state === 'restarting') this.log.warn({ sessionId, ...status }, 'recording state');
    this.emit('status', sessionId, full);
  }
}

/** How often a node looks for segments cut off by a node gone silent. */
const ADOPT_EVERY_MS = 5_000;

/** Files the recorder and its encryption make: `<uuid>.webm` and its temporary companions. */
const RECORDER_LEFTOVER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.webm(\.enc-tmp|\.remux\.webm|\.sdp|\.undo|\.undo\.tmp)?$/;

/** SHA-256 of a file, streamed (a segment can be hundreds of MB). */
function sha256Of(file: string): Promise<string> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    const input = fs.createReadStream(file);
    input.on('data', (d) => hash.update(d));
    input.on('end', () => resolve(hash.digest('hex')));
    // No file (ffmpeg never created it): the hash of nothing.
    input.on('error', () => resolve(createHash('sha256').digest('hex')));
  });
}

/** The media's length; 0 for a file that holds no frame at all (a segment killed before its
 *  first cluster: only the header was written); null when ffprobe cannot tell. */
async function probeDurationMs(file: string): Promise<number | null> {
  const duration = await ffprobeOut(['-show_entries', 'format=duration', file]);
  const seconds = Number.parseFloat(duration ?? '');
  if (Number.isFinite(seconds)) return Math.round(seconds * 1000);
  const packets = await ffprobeOut(['-count_packets', '-show_entries', 'stream=nb_read_packets', file]);
  if (packets === null) return null;
  const counts = packets.split('\n').map((l) => l.trim()).filter(Boolean).map(Number);
  return counts.every((n) => n === 0) ? 0 : null;
}

/** ffprobe's answer (csv, no keys), or null when it failed. */
function ffprobeOut(args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = spawnTied('ffprobe', ['-v', 'error', '-of', 'csv=p=0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    probe.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    probe.on('close', (code) => resolve(code === 0 ? out.trim() : null));
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
    senderStartedAt: r.sender_started_at === null || r.sender_started_at === undefined ? null : Number(r.sender_started_at),
    timing: (r.timing as RecordingRow['timing'] | undefined) ?? null,
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    bytes: r.bytes === null ? null : Number(r.bytes),
    sha256: (r.sha256 as string | null) ?? null,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  };
}
