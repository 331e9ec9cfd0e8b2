// What happened to a booking, for whoever must be told (email notifications, the board).
// The booking code emits these after its transaction has committed; listeners must not throw
// into the emitter (a listener's failure is logged by the emitter and never undoes a booking).
import type { Logger } from '../log.ts';

export type BookingEvent =
  | { kind: 'booked'; sessionId: string; organisationId: string }
  | { kind: 'rescheduled'; sessionId: string; organisationId: string; previousStart: string; scheduledStart: string }
  | { kind: 'cancelled'; sessionId: string; organisationId: string; reason: string }
  /** One person replaced by another in the same place (role) of a session. */
  | { kind: 'person-swapped'; sessionId: string; organisationId: string; role: string; outgoingParticipantId: string; incomingParticipantId: string }
  | { kind: 'adjustments-changed'; sessionId: string; organisationId: string }
  /** The candidate's result has been signed off and can be seen (never the result itself in mail). */
  | { kind: 'result-available'; sessionId: string; organisationId: string; candidateParticipantId: string };

export type BookingListener = (event: BookingEvent) => void;

export class BookingEvents {
  private readonly listeners = new Set<BookingListener>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  on(listener: BookingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: BookingEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, event: event.kind, sessionId: event.sessionId }, 'booking event listener failed');
      }
    }
  }
}
