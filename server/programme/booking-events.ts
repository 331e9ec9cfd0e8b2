// What happened to a booking, for whoever must be told (email notifications). The booking code
// emits these once its transaction has committed. Each event is stored before anyone hears of
// it, and stays "not yet notified" until the email it calls for is queued (in the same
// transaction as that email): a restart in between — the email is composed asynchronously —
// hands it over again at start-up instead of losing it. Listeners must not throw into the
// emitter (a listener's failure is logged and never undoes a booking).
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';

export type BookingEvent =
  | { kind: 'booked'; sessionId: string; organisationId: string }
  | { kind: 'rescheduled'; sessionId: string; organisationId: string; previousStart: string; scheduledStart: string }
  | { kind: 'cancelled'; sessionId: string; organisationId: string; reason: string }
  /** One person replaced by another in the same place (role) of a session. */
  | { kind: 'person-swapped'; sessionId: string; organisationId: string; role: string; outgoingParticipantId: string; incomingParticipantId: string }
  | { kind: 'adjustments-changed'; sessionId: string; organisationId: string }
  /** The day was stopped before its end (by the lead observer or a coordinator). */
  | { kind: 'day-stopped'; sessionId: string; organisationId: string }
  /** The candidate's result has been signed off and can be seen (never the result itself in mail). */
  | { kind: 'result-available'; sessionId: string; organisationId: string; candidateParticipantId: string };

/** An event as stored: `id` orders them and marks one notified. */
export interface StoredBookingEvent {
  id: number;
  event: BookingEvent;
}

export type BookingListener = (stored: StoredBookingEvent) => void;

/** Notified events are kept this long (what was sent, for support), then removed. */
const KEEP_NOTIFIED_MS = 30 * 24 * 3600_000;

export class BookingEvents {
  private readonly listeners = new Set<BookingListener>();
  private readonly db: Database;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(db: Database, log: Logger, now: () => number = Date.now) {
    this.db = db;
    this.log = log;
    this.now = now;
  }

  on(listener: BookingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: BookingEvent): void {
    const { id } = this.db
      .prepare('INSERT INTO booking_events (session_id, event, created_at) VALUES (?, ?, ?) RETURNING id')
      .get(event.sessionId, JSON.stringify(event), this.now()) as { id: number };
    const stored = { id, event };
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch (error) {
        this.log.error({ err: error, event: event.kind, sessionId: event.sessionId }, 'booking event listener failed');
      }
    }
  }

  /** Events whose email was not queued yet (a restart came first), oldest first. */
  unnotified(): StoredBookingEvent[] {
    const rows = this.db.prepare('SELECT id, event FROM booking_events WHERE notified_at IS NULL ORDER BY id').all() as Array<{ id: number; event: string }>;
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as BookingEvent }));
  }

  /** The email this event called for is queued (call inside the transaction that queues it). */
  markNotified(id: number): void {
    const now = this.now();
    this.db.prepare('UPDATE booking_events SET notified_at = ? WHERE id = ?').run(now, id);
    this.db.prepare('DELETE FROM booking_events WHERE notified_at < ?').run(now - KEEP_NOTIFIED_MS);
  }
}
