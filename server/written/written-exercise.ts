// The written exercise's window and its frozen result (issue 11, rows 5, 6, 7, 14).
//
// - Writing is open while the written-exercise phase runs, until its deadline: the phase
//   duration with the candidate's extra time, moved by pause and extend. A soft-timer written
//   phase closes writing at that same deadline (the day still waits for the lead observer to
//   move on); a lead observer who advances earlier closes it then.
// - Paused means no writing.
// - The deadline is stored whenever the phase changes (written_windows), so a server that was
//   down across it closes writing at that stored deadline on startup, never at a later phase's
//   start; a close is stored once and never changes (a trigger refuses updates).
// - Grace: a candidate with no connection open at the deadline may deliver the work made
//   offline, in the first sync of a connection opened after it, for `graceMs`. A candidate
//   connected at the deadline gets none (their page was sending every change as it was made).
// - When the grace ends the server freezes the final text: plain text, Yjs state and SHA-256,
//   once (immutable in the database); a failed freeze is retried, never skipped.
// - Size: the document's stored bytes (text, formatting and edits) are capped at
//   DOC_BYTES_PER_TEXT_BYTE × the text cap, checked against the store's running total.
import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import type { DayState } from '../../shared/assessment.ts';
import { WRITTEN_DEFAULTS, WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import { plainText } from '../../shared/written-text.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { DocStore } from '../collab/doc-store.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { CandidatePresence } from './candidate-presence.ts';

export interface WrittenOptions {
  graceMs: number;
  maxTextBytes: number;
}

export const DEFAULT_WRITTEN_OPTIONS: WrittenOptions = {
  graceMs: WRITTEN_DEFAULTS.reconnectGraceSeconds * 1000,
  maxTextBytes: WRITTEN_DEFAULTS.maxTextBytes,
};

/**
 * The stored document may hold this many bytes per byte of the text cap: Yjs keeps each run
 * of typing with its position and author, so a heavily edited text encodes to several times
 * its plain size (measured: 2–5× for essays typed with corrections and formatting).
 */
export const DOC_BYTES_PER_TEXT_BYTE = 5;

/** A failed freeze is retried after 1 s, 2 s, 4 s … at most a minute apart. */
const FREEZE_RETRY_FIRST_MS = 1000;
const FREEZE_RETRY_MAX_MS = 60_000;
/** How soon a freeze looks again when accepted changes are still being stored. */
const STORING_RETRY_MS = 10;

/** Where the written exercise stands, as the server enforces it. */
export type WrittenWindow =
  | { kind: 'not-started' }
  | { kind: 'open'; deadline: number }
  | { kind: 'paused'; deadline: number }
  /** Writing closed at `closedAt`; `candidateOnline`: a candidate connection was open then (no grace). */
  | { kind: 'closed'; closedAt: number; candidateOnline: boolean };

/** A candidate connection's right to change the document now. */
export type CandidateWrite = 'write' | 'grace' | 'read';

export class WrittenExercise {
  readonly options: WrittenOptions;
  readonly maxDocumentBytes: number;
  private readonly db: Database;
  private readonly store: DocStore;
  private readonly storing: (docName: string) => boolean;
  private readonly assessment: AssessmentService;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly presence: CandidatePresence;
  /** Per session: the timer that closes writing at the deadline, or freezes after the grace. */
  private readonly closeTimers = new Map<string, NodeJS.Timeout>();
  private readonly freezeTimers = new Map<string, NodeJS.Timeout>();
  private closing = false;

  constructor(
    deps: {
      db: Database;
      store: DocStore;
      assessment: AssessmentService;
      audit: AuditRepo;
      log: Logger;
      /** Whether a document holds accepted changes that are still being stored. */
      storing?: (docName: string) => boolean;
    },
    options: WrittenOptions = DEFAULT_WRITTEN_OPTIONS,
    now: () => number = Date.now,
  ) {
    this.db = deps.db;
    this.store = deps.store;
    this.storing = deps.storing ?? (() => false);
    this.assessment = deps.assessment;
    this.audit = deps.audit;
    this.log = deps.log.child({ module: 'written' });
    this.options = options;
    this.maxDocumentBytes = options.maxTextBytes * DOC_BYTES_PER_TEXT_BYTE;
    this.now = now;
    this.presence = new CandidatePresence(now);
    // Before the day runner catches up on deadlines that passed while the server was down
    // (it announces only where each day ends up): remember every stored written window.
    this.captureStoredWindows();
    deps.assessment.on('dayChanged', (sessionId, state) => this.follow(sessionId, state));
  }

  /** After a restart: closes what is overdue (freezing it if its grace is over too) and schedules the rest. */
  restore(): void {
    const rows = this.db
      // Not one whose frozen text retention removed (it would freeze again, empty).
      .prepare(
        'SELECT d.session_id FROM assessment_days d LEFT JOIN written_snapshots s ON s.session_id = d.session_id WHERE s.session_id IS NULL AND d.session_id NOT IN (SELECT session_id FROM written_removed)',
      )
      .all() as Array<{ session_id: string }>;
    for (const { session_id: sessionId } of rows) {
      const day = this.assessment.dayState(sessionId);
      if (day) this.follow(sessionId, day);
    }
  }

  close(): void {
    this.closing = true;
    for (const t of [...this.closeTimers.values(), ...this.freezeTimers.values()]) clearTimeout(t);
    this.closeTimers.clear();
    this.freezeTimers.clear();
  }

  // ---- what clients are told and allowed ----

  status(sessionId: string): WrittenStatus {
    const frozen = this.frozen(sessionId);
    const window = this.window(sessionId);
    if (frozen) return { status: 'submitted', closesAt: window.kind === 'closed' ? window.closedAt : null, frozen };
    switch (window.kind) {
      case 'not-started':
        return { status: 'not-started', closesAt: null, frozen: null };
      case 'open':
        return { status: 'open', closesAt: window.deadline, frozen: null };
      case 'paused':
        return { status: 'paused', closesAt: window.deadline, frozen: null };
      case 'closed':
        return { status: this.now() <= window.closedAt + this.options.graceMs ? 'grace' : 'submitted', closesAt: window.closedAt, frozen: null };
    }
  }

  /**
   * May this candidate connection change the document now? 'grace': only its first sync
   * (the offline work it brings back), which the policy holds it to.
   */
  candidateWrite(sessionId: string, connection: { connectedAt: number }): CandidateWrite {
    const window = this.window(sessionId);
    if (window.kind === 'open') return 'write';
    if (window.kind !== 'closed' || window.candidateOnline) return 'read';
    const inGrace = this.now() <= window.closedAt + this.options.graceMs && connection.connectedAt > window.closedAt;
    return inGrace && !this.frozen(sessionId) ? 'grace' : 'read';
  }

  /** Observers, moderators and coordinators read the exercise once it is submitted. */
  readersMayRead(sessionId: string): boolean {
    return this.status(sessionId).status === 'submitted';
  }

  candidateConnected(sessionId: string, connection: { id: number; connectedAt: number; readonly lastSeenAt: number }): void {
    this.presence.connected(sessionId, connection.id, connection.connectedAt, () => connection.lastSeenAt);
  }

  candidateDisconnected(sessionId: string, connection: { id: number }): void {
    this.presence.disconnected(sessionId, connection.id);
  }

  /** Bytes the written document holds in storage (snapshot plus logged updates). */
  documentBytes(sessionId: string): number {
    return this.store.storedBytes(collabDocName(sessionId, 'written'));
  }

  frozen(sessionId: string): WrittenStatus['frozen'] {
    const row = this.db.prepare('SELECT frozen_at, sha256, text FROM written_snapshots WHERE session_id = ?').get(sessionId) as
      | { frozen_at: number; sha256: string; text: string }
      | undefined;
    return row ? { frozenAt: row.frozen_at, sha256: row.sha256, text: row.text } : null;
  }

  /** The frozen Yjs state (for the moderation view). */
  frozenState(sessionId: string): Uint8Array | undefined {
    const row = this.db.prepare('SELECT state FROM written_snapshots WHERE session_id = ?').get(sessionId) as { state: Uint8Array } | undefined;
    return row?.state;
  }

  /** Stores the final text once; later calls change nothing (the table refuses updates). */
  freeze(sessionId: string): void {
    if (this.frozen(sessionId)) return;
    const { ydoc } = this.store.load(collabDocName(sessionId, 'written'));
    try {
      const text = plainText(ydoc.getXmlFragment(WRITTEN_FRAGMENT));
      const state = Y.encodeStateAsUpdate(ydoc);
      const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
      this.db
        .prepare('INSERT INTO written_snapshots (session_id, frozen_at, text, state, sha256) VALUES (?, ?, ?, ?, ?)')
        .run(sessionId, this.now(), text, state, sha256);
      this.audit.append({ sessionId, job: 'written exercise', action: 'written.frozen', detail: { sha256, characters: text.length } });
      this.log.info({ sessionId, sha256 }, 'written exercise frozen');
    } finally {
      ydoc.destroy();
    }
  }

  // ---- the window ----

  /** Where the exercise stands: a stored close is final; otherwise it follows the day. */
  window(sessionId: string): WrittenWindow {
    const closed = this.storedClose(sessionId);
    if (closed) return closed;
    const day = this.assessment.dayState(sessionId);
    const index = writtenIndex(day);
    if (!day || index < 0 || day.status === 'waiting' || day.phaseIndex < index) return { kind: 'not-started' };
    if (day.status === 'stopped' && day.phaseIndex === index) {
      // Stopped during the exercise: writing closed when the day's clock stopped (or at the
      // deadline, had that come first: a soft phase running over).
      const stoppedAt = day.pausedAt ?? day.phaseStartedAt ?? this.now();
      const deadline = this.storedDeadline(sessionId);
      const closedAt = deadline === null ? stoppedAt : Math.min(deadline, stoppedAt);
      return { kind: 'closed', closedAt, candidateOnline: this.presence.onlineAt(sessionId, closedAt) };
    }
    if (day.phaseIndex === index && day.deadline !== null) {
      // Paused before the deadline: no writing, and the deadline moves on by the pause. A
      // pause after it (a soft phase running over) does not reopen anything.
      if (day.status === 'paused' && (day.pausedAt ?? 0) < day.deadline) return { kind: 'paused', deadline: day.deadline };
      if (day.status === 'paused') return { kind: 'closed', closedAt: day.deadline, candidateOnline: this.presence.onlineAt(sessionId, day.deadline) };
      if (this.now() < day.deadline) return { kind: 'open', deadline: day.deadline };
      // Due to close (its timer runs a moment late on a busy machine): closed at the deadline.
      return { kind: 'closed', closedAt: day.deadline, candidateOnline: this.presence.onlineAt(sessionId, day.deadline) };
    }
    return this.closeAfterPhase(sessionId, day, index);
  }

  /**
   * The day has moved past the written phase and no close is stored: writing closed at the
   * stored deadline, or earlier when the lead observer moved on (the next phase's start).
   * With neither known (a day that left the phase under an older version) it closed no later
   * than this phase's start, and nobody gets a grace.
   */
  private closeAfterPhase(sessionId: string, day: DayState, index: number): WrittenWindow & { kind: 'closed' } {
    const deadline = this.storedDeadline(sessionId);
    const leftAt = day.phaseIndex === index + 1 ? day.phaseStartedAt : null;
    const known = [deadline, leftAt].filter((t): t is number => t !== null);
    if (known.length === 0) return { kind: 'closed', closedAt: day.phaseStartedAt ?? this.now(), candidateOnline: true };
    const closedAt = Math.min(...known);
    return { kind: 'closed', closedAt, candidateOnline: this.presence.onlineAt(sessionId, closedAt) };
  }

  /** Keeps the stored window, the close and the freeze in step with the day. Never throws. */
  private follow(sessionId: string, day: DayState): void {
    try {
      const index = writtenIndex(day);
      if (index < 0 || day.status === 'waiting' || day.phaseIndex < index) return;
      if (this.storedClose(sessionId)) {
        this.scheduleFreeze(sessionId);
        return;
      }
      if (day.phaseIndex === index && day.deadline !== null) this.storeDeadline(sessionId, day.deadline);
      const window = this.window(sessionId);
      if (window.kind === 'closed') this.storeClose(sessionId, window);
      else if (window.kind === 'open') this.armClose(sessionId, window.deadline);
      else this.disarmClose(sessionId);
    } catch (err) {
      // E.g. the database is locked: the window is recomputed on every check, and the next
      // day change or the retry below stores it.
      this.log.error({ sessionId, err: (err as Error).message }, 'keeping the written exercise window failed; retrying');
      this.retry(this.closeTimers, sessionId, FREEZE_RETRY_FIRST_MS, () => {
        const latest = this.assessment.dayState(sessionId);
        if (latest) this.follow(sessionId, latest);
      });
    }
  }

  private armClose(sessionId: string, deadline: number): void {
    this.disarmClose(sessionId);
    if (this.closing) return;
    const timer = setTimeout(
      () => {
        this.closeTimers.delete(sessionId);
        const day = this.assessment.dayState(sessionId);
        if (day) this.follow(sessionId, day);
      },
      Math.min(Math.max(0, deadline - this.now()), 2 ** 31 - 1),
    );
    timer.unref();
    this.closeTimers.set(sessionId, timer);
  }

  private disarmClose(sessionId: string): void {
    clearTimeout(this.closeTimers.get(sessionId));
    this.closeTimers.delete(sessionId);
  }

  private storeClose(sessionId: string, window: WrittenWindow & { kind: 'closed' }): void {
    this.disarmClose(sessionId);
    const stored = this.db
      .prepare('INSERT INTO written_state (session_id, closed_at, candidate_online) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(sessionId, window.closedAt, window.candidateOnline ? 1 : 0);
    if (stored.changes > 0) {
      this.audit.append({ sessionId, job: 'written exercise deadline', action: 'written.closed', detail: { closedAt: window.closedAt, candidateOnline: window.candidateOnline } });
      this.log.info({ sessionId, closedAt: window.closedAt, candidateOnline: window.candidateOnline }, 'written exercise closed');
    }
    this.scheduleFreeze(sessionId);
  }

  /** Freezes once the grace is over: at once when it already is (e.g. on startup). */
  private scheduleFreeze(sessionId: string): void {
    const closed = this.storedClose(sessionId);
    if (!closed || this.freezeTimers.has(sessionId) || this.closing) return;
    const due = closed.closedAt + this.options.graceMs;
    if (due <= this.now()) {
      this.tryFreeze(sessionId, 0);
      return;
    }
    const timer = setTimeout(() => {
      this.freezeTimers.delete(sessionId);
      this.tryFreeze(sessionId, 0);
    }, due - this.now());
    timer.unref();
    this.freezeTimers.set(sessionId, timer);
  }

  private tryFreeze(sessionId: string, attempt: number): void {
    // The candidate's last accepted keystrokes are on their way to the database (a few
    // milliseconds): freeze what includes them.
    if (this.storing(collabDocName(sessionId, 'written'))) {
      this.retry(this.freezeTimers, sessionId, STORING_RETRY_MS, () => this.tryFreeze(sessionId, attempt));
      return;
    }
    try {
      this.freeze(sessionId);
    } catch (err) {
      const delay = Math.min(FREEZE_RETRY_FIRST_MS * 2 ** attempt, FREEZE_RETRY_MAX_MS);
      this.log.error({ sessionId, attempt: attempt + 1, retryInMs: delay, err: (err as Error).message }, 'freezing the written exercise failed; retrying');
      this.retry(this.freezeTimers, sessionId, delay, () => this.tryFreeze(sessionId, attempt + 1));
    }
  }

  private retry(timers: Map<string, NodeJS.Timeout>, sessionId: string, delay: number, fn: () => void): void {
    clearTimeout(timers.get(sessionId));
    if (this.closing) return;
    const timer = setTimeout(() => {
      timers.delete(sessionId);
      fn();
    }, delay);
    timer.unref();
    timers.set(sessionId, timer);
  }

  // ---- storage ----

  private storedClose(sessionId: string): (WrittenWindow & { kind: 'closed' }) | null {
    const row = this.db.prepare('SELECT closed_at, candidate_online FROM written_state WHERE session_id = ?').get(sessionId) as
      | { closed_at: number; candidate_online: number }
      | undefined;
    return row ? { kind: 'closed', closedAt: row.closed_at, candidateOnline: row.candidate_online === 1 } : null;
  }

  private storedDeadline(sessionId: string): number | null {
    const row = this.db.prepare('SELECT deadline FROM written_windows WHERE session_id = ?').get(sessionId) as { deadline: number } | undefined;
    return row?.deadline ?? null;
  }

  private storeDeadline(sessionId: string, deadline: number): void {
    this.db
      .prepare(
        `INSERT INTO written_windows (session_id, deadline, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(session_id) DO UPDATE SET deadline = excluded.deadline, updated_at = excluded.updated_at
         WHERE written_windows.deadline IS DISTINCT FROM excluded.deadline`,
      )
      .run(sessionId, deadline, this.now());
  }

  /** Days stored in their written phase (running or paused): their deadline, as stored. */
  private captureStoredWindows(): void {
    const rows = this.db
      .prepare("SELECT session_id, phases, phase_index, deadline FROM assessment_days WHERE status IN ('running', 'paused') AND deadline IS NOT NULL")
      .all() as Array<{ session_id: string; phases: string; phase_index: number; deadline: number }>;
    for (const row of rows) {
      const phases = JSON.parse(row.phases) as DayState['phases'];
      if (phases[row.phase_index]?.kind === 'writtenExercise' && !this.storedClose(row.session_id)) this.storeDeadline(row.session_id, row.deadline);
    }
  }
}

function writtenIndex(day: DayState | null): number {
  return day ? day.phases.findIndex((p) => p.kind === 'writtenExercise') : -1;
}
