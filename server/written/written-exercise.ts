// The written exercise's window and its frozen result. The candidate may write while the
// written-exercise phase runs (its deadline already includes their extra time, and moves
// with pause and extend); after the deadline only a connection opened after it (a client
// that was disconnected at the deadline) may still sync, for a short grace. When the grace
// ends the server freezes the final text: plain text, Yjs state and SHA-256, immutable.
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

export interface WrittenOptions {
  graceMs: number;
  maxTextBytes: number;
}

export const DEFAULT_WRITTEN_OPTIONS: WrittenOptions = {
  graceMs: WRITTEN_DEFAULTS.reconnectGraceSeconds * 1000,
  maxTextBytes: WRITTEN_DEFAULTS.maxTextBytes,
};

export class WrittenExercise {
  readonly options: WrittenOptions;
  private readonly db: Database;
  private readonly store: DocStore;
  private readonly assessment: AssessmentService;
  private readonly audit: AuditRepo;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly lastPhase = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    deps: { db: Database; store: DocStore; assessment: AssessmentService; audit: AuditRepo; log: Logger },
    options: WrittenOptions = DEFAULT_WRITTEN_OPTIONS,
    now: () => number = Date.now,
  ) {
    this.db = deps.db;
    this.store = deps.store;
    this.assessment = deps.assessment;
    this.audit = deps.audit;
    this.log = deps.log.child({ module: 'written' });
    this.options = options;
    this.now = now;
    deps.assessment.on('dayChanged', (sessionId, state) => this.onDayChanged(sessionId, state));
  }

  /** Freezes what is overdue and schedules the rest (after a restart). */
  restore(): void {
    const pending = this.db
      .prepare('SELECT w.session_id, w.closed_at FROM written_state w LEFT JOIN written_snapshots s ON s.session_id = w.session_id WHERE s.session_id IS NULL')
      .all() as Array<{ session_id: string; closed_at: number }>;
    for (const row of pending) this.scheduleFreeze(row.session_id, row.closed_at);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  status(sessionId: string): WrittenStatus {
    const frozen = this.frozen(sessionId);
    if (frozen) return { status: 'submitted', closesAt: this.closedAt(sessionId), frozen };
    const day = this.assessment.dayState(sessionId);
    const index = day?.phases.findIndex((p) => p.kind === 'writtenExercise') ?? -1;
    if (!day || index < 0 || day.status === 'waiting' || day.phaseIndex < index) return { status: 'not-started', closesAt: null, frozen: null };
    if (day.phaseIndex === index && day.status !== 'complete') return { status: 'open', closesAt: day.deadline, frozen: null };
    const closedAt = this.closedAt(sessionId) ?? day.phaseStartedAt ?? this.now();
    return { status: this.now() <= closedAt + this.options.graceMs ? 'grace' : 'submitted', closesAt: closedAt, frozen: null };
  }

  /** May the candidate's connection (opened at `connectedAt`) change the document now? */
  candidateMayWrite(sessionId: string, connectedAt: number): boolean {
    const { status, closesAt } = this.status(sessionId);
    if (status === 'open') return true;
    // Grace only for a client that was not connected when writing closed.
    return status === 'grace' && closesAt !== null && connectedAt > closesAt;
  }

  /** Observers, moderators and coordinators read the exercise once it is submitted. */
  readersMayRead(sessionId: string): boolean {
    return this.status(sessionId).status === 'submitted';
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

  private closedAt(sessionId: string): number | null {
    const row = this.db.prepare('SELECT closed_at FROM written_state WHERE session_id = ?').get(sessionId) as { closed_at: number } | undefined;
    return row?.closed_at ?? null;
  }

  private onDayChanged(sessionId: string, state: DayState): void {
    const index = state.phases.findIndex((p) => p.kind === 'writtenExercise');
    const before = this.lastPhase.get(sessionId) ?? this.assumedPreviousPhase(state, index);
    this.lastPhase.set(sessionId, state.phaseIndex);
    if (index < 0 || before !== index || state.phaseIndex <= index) return;
    // Writing closed when the next phase began (the deadline, or when the lead observer moved on).
    const closedAt = state.phaseStartedAt ?? this.now();
    this.db.prepare('INSERT OR IGNORE INTO written_state (session_id, closed_at) VALUES (?, ?)').run(sessionId, closedAt);
    this.log.info({ sessionId, closedAt }, 'written exercise closed');
    this.scheduleFreeze(sessionId, closedAt);
  }

  /** Before this process saw the day change: the phase it was in, as persisted. */
  private assumedPreviousPhase(state: DayState, writtenIndex: number): number {
    return state.phaseIndex === writtenIndex + 1 ? writtenIndex : state.phaseIndex;
  }

  private scheduleFreeze(sessionId: string, closedAt: number): void {
    clearTimeout(this.timers.get(sessionId));
    const delay = Math.max(0, closedAt + this.options.graceMs - this.now());
    const timer = setTimeout(() => {
      this.timers.delete(sessionId);
      this.freeze(sessionId);
    }, delay);
    timer.unref();
    this.timers.set(sessionId, timer);
  }

  /** Stores the final text once; later calls change nothing (the table refuses updates). */
  freeze(sessionId: string): void {
    if (this.frozen(sessionId)) return;
    const { ydoc } = this.store.load(collabDocName(sessionId, 'written'));
    const text = plainText(ydoc.getXmlFragment(WRITTEN_FRAGMENT));
    const state = Y.encodeStateAsUpdate(ydoc);
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    const frozenAt = this.now();
    this.db
      .prepare('INSERT INTO written_snapshots (session_id, frozen_at, text, state, sha256) VALUES (?, ?, ?, ?, ?)')
      .run(sessionId, frozenAt, text, state, sha256);
    ydoc.destroy();
    this.audit.append({ sessionId, action: 'written.frozen', detail: { sha256, characters: text.length } });
    this.log.info({ sessionId, sha256 }, 'written exercise frozen');
  }
}
