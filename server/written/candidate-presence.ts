// Which candidate connections to the written exercise were open when: the reconnection grace
// belongs only to a candidate who was disconnected at the deadline (issue 11, row 6), so the
// server must be able to say, a moment after the deadline, whether one was open at it.
// In memory: a process that started after the deadline had no connection at it, which is
// exactly right; what was true at a close this process saw is stored with the close.

/** Closed connections are remembered this long (the deadline's close is recorded within moments). */
const KEEP_CLOSED_MS = 10 * 60_000;
/** …and at most this many per session (a reconnect loop must not grow memory). */
const MAX_CLOSED = 64;

interface Span {
  connectedAt: number;
  disconnectedAt: number | null;
  /** When the server last heard from the connection (any message or pong). */
  lastSeenAt: () => number;
}

/** A live connection is heard from at least once a heartbeat (its pong); one silent for
 *  longer than this at a moment was already dead then (a laptop lid closed, a network gone
 *  without a FIN), even though the heartbeat has not yet closed it. */
const SILENT_MS = 35_000;

export class CandidatePresence {
  private readonly sessions = new Map<string, Map<number, Span>>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  connected(sessionId: string, connectionId: number, connectedAt: number, lastSeenAt: () => number = () => this.now()): void {
    let spans = this.sessions.get(sessionId);
    if (!spans) this.sessions.set(sessionId, (spans = new Map()));
    spans.set(connectionId, { connectedAt, disconnectedAt: null, lastSeenAt });
    this.prune(sessionId, spans);
  }

  disconnected(sessionId: string, connectionId: number): void {
    const spans = this.sessions.get(sessionId);
    const span = spans?.get(connectionId);
    if (!spans || !span) return;
    // A connection the heartbeat closed was gone since it was last heard from.
    span.disconnectedAt = Math.min(this.now(), span.lastSeenAt() + SILENT_MS);
    this.prune(sessionId, spans);
  }

  /** Whether any candidate connection of this session was open at `at`. */
  onlineAt(sessionId: string, at: number): boolean {
    const spans = this.sessions.get(sessionId);
    if (!spans) return false;
    for (const span of spans.values()) {
      if (span.connectedAt > at) continue;
      if (span.disconnectedAt !== null ? span.disconnectedAt > at : span.lastSeenAt() + SILENT_MS > at) return true;
    }
    return false;
  }

  private prune(sessionId: string, spans: Map<number, Span>): void {
    const cutoff = this.now() - KEEP_CLOSED_MS;
    let closed = 0;
    for (const span of spans.values()) if (span.disconnectedAt !== null) closed++;
    // Drop what is too old, then the earliest connections while over the count.
    for (const [id, span] of spans) {
      if (span.disconnectedAt === null) continue;
      if (span.disconnectedAt >= cutoff && closed <= MAX_CLOSED) continue;
      spans.delete(id);
      closed--;
    }
    if (spans.size === 0) this.sessions.delete(sessionId);
  }
}
