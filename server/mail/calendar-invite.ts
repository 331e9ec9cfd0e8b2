// The .ics file sent with an invitation, a change or a cancellation (RFC 5545 through the `ics`
// package). One event per session and person: its UID stays the same for them across every
// message, and SEQUENCE grows with each change, so a calendar updates or removes the event it
// already has instead of adding another. Times are in UTC.
import { createEvent } from 'ics';

export interface CalendarEvent {
  sessionId: string;
  /** The person (or, without one, the participant) the event is for. */
  attendeeKey: string;
  attendee: { name: string; email: string };
  organizer: { name: string; email: string } | null;
  title: string;
  description: string;
  start: number;
  durationMinutes: number;
  sequence: number;
  /** REQUEST: add or update; CANCEL: remove. */
  method: 'REQUEST' | 'CANCEL';
  url?: string;
}

/** The event's UID: stable per session and person. */
export function calendarUid(sessionId: string, attendeeKey: string): string {
  return `${sessionId}.${attendeeKey}@simstudio`;
}

export function calendarFile(event: CalendarEvent): string {
  const { error, value } = createEvent({
    productId: 'SimStudio',
    method: event.method,
    uid: calendarUid(event.sessionId, event.attendeeKey),
    sequence: event.sequence,
    start: event.start,
    startInputType: 'utc',
    startOutputType: 'utc',
    duration: { minutes: Math.max(1, Math.round(event.durationMinutes)) },
    title: event.title,
    description: event.description,
    status: event.method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED',
    ...(event.url ? { url: event.url } : {}),
    ...(event.organizer ? { organizer: event.organizer } : {}),
    attendees: [{ name: event.attendee.name, email: event.attendee.email, rsvp: false, role: 'REQ-PARTICIPANT', partstat: 'ACCEPTED' }],
  });
  if (error || !value) throw new Error(`calendar file not made: ${error?.message ?? 'no output'}`);
  return value;
}
