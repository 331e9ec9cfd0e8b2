// Stored test calls: every participant's pre-join results, the newest one read for the board.
import type { Database } from '../db/database.ts';
import type { PrejoinResult, PrejoinStep, ProbePath, TestCallSummary } from '../../shared/prejoin.ts';

/** Results kept per participant: the board needs the newest; a few more explain a history. */
const KEEP_PER_PARTICIPANT = 20;

interface Row {
  participant_id: string;
  at: number;
  passed: number;
  failed_step: PrejoinStep | null;
  path: ProbePath | null;
  rtt_ms: number | null;
  upload_kbps: number | null;
  browser: string;
}

const toSummary = (r: Row): TestCallSummary => ({
  passed: r.passed === 1,
  failedStep: r.failed_step,
  path: r.path,
  rttMs: r.rtt_ms,
  uploadKbps: r.upload_kbps,
  browser: r.browser,
  at: r.at,
});

export interface NewTestCall {
  participantId: string;
  sessionId: string;
  at: number;
  passed: boolean;
  failedStep: PrejoinStep | null;
  result: PrejoinResult;
}

export class TestCallRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  add(call: NewTestCall): TestCallSummary {
    const { result } = call;
    const browser = `${result.browser.name} ${result.browser.version}`.trim();
    this.db
      .prepare(
        `INSERT INTO test_calls (participant_id, session_id, at, passed, failed_step, path, rtt_ms, upload_kbps, browser, result)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        call.participantId,
        call.sessionId,
        call.at,
        call.passed ? 1 : 0,
        call.failedStep,
        result.connection.path,
        result.connection.rttMs,
        result.connection.uploadKbps,
        browser,
        JSON.stringify(result),
      );
    this.db
      .prepare(
        `DELETE FROM test_calls WHERE participant_id = ? AND id NOT IN
           (SELECT id FROM test_calls WHERE participant_id = ? ORDER BY at DESC, id DESC LIMIT ?)`,
      )
      .run(call.participantId, call.participantId, KEEP_PER_PARTICIPANT);
    return this.latest(call.participantId)!;
  }

  /** How many results this participant stored since `since` (the rate limit reads it). */
  countSince(participantId: string, since: number): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM test_calls WHERE participant_id = ? AND at >= ?').get(participantId, since) as { n: number };
    return row.n;
  }

  latest(participantId: string): TestCallSummary | null {
    const row = this.db
      .prepare(
        `SELECT participant_id, at, passed, failed_step, path, rtt_ms, upload_kbps, browser FROM test_calls
         WHERE participant_id = ? ORDER BY at DESC, id DESC LIMIT 1`,
      )
      .get(participantId) as Row | undefined;
    return row ? toSummary(row) : null;
  }

  /** The newest result of each participant of a session who has one. */
  latestInSession(sessionId: string): Map<string, TestCallSummary> {
    const rows = this.db
      .prepare(
        `SELECT participant_id, at, passed, failed_step, path, rtt_ms, upload_kbps, browser FROM test_calls
         WHERE session_id = ? ORDER BY at ASC, id ASC`,
      )
      .all(sessionId) as unknown as Row[];
    const latest = new Map<string, TestCallSummary>();
    for (const row of rows) latest.set(row.participant_id, toSummary(row));
    return latest;
  }
}
