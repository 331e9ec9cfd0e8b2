// Running a programme (issue 15): the coordinator's sessions calendar, a session's own page,
// and changing a booking (reschedule, cancel, swap a person, adjustments, no-show, rebook).
import { z } from 'zod';
import type { Adjustments, DayStatus } from './assessment.ts';
import { AdjustmentsSchema } from './assessment-schemas.ts';
import { LevelSchema, PersonIdSchema, type Level } from './domain.ts';
import type { Role } from './roles.ts';

/** Where a booked session stands, as the calendar shows it. */
/** `stopped`: the day was stopped early (no result; the candidate can be booked again). */
export const SESSION_STATUSES = ['scheduled', 'running', 'complete', 'cancelled', 'no-show', 'stopped'] as const;
export const SessionStatusSchema = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

export const SESSION_STATUS_LABELS: Record<SessionStatus, string> = {
  scheduled: 'Scheduled',
  running: 'Running',
  complete: 'Complete',
  cancelled: 'Cancelled',
  'no-show': 'Candidate did not attend',
  stopped: 'Stopped early',
};

const Reason = z.string().trim().min(1, 'a reason is required').max(500);

export const CalendarQuerySchema = z.strictObject({
  /** ISO date-times: sessions starting in [from, to). */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  status: SessionStatusSchema.optional(),
  personId: PersonIdSchema.optional(),
  level: LevelSchema.optional(),
  templateId: z.string().regex(/^[a-z0-9-]{3,64}$/).optional(),
});
export type CalendarQuery = z.infer<typeof CalendarQuerySchema>;

export const RescheduleSchema = z.strictObject({
  scheduledStart: z.iso.datetime({ offset: true }),
  reason: Reason,
});
export type Reschedule = z.infer<typeof RescheduleSchema>;

export const CancelSchema = z.strictObject({ reason: Reason });

/** Replace the person in one place of the session by another (a person of the organisation by
 *  id, or a new person by name). */
export const SwapSchema = z.strictObject({
  participantId: z.uuid(),
  incoming: z.strictObject({
    displayName: z.string().trim().min(1).max(120),
    personId: PersonIdSchema.optional(),
    /** A new candidate's reference (a known candidate keeps theirs). */
    candidateRef: z.string().trim().min(1).max(120).optional(),
  }),
  reason: Reason,
});
export type Swap = z.infer<typeof SwapSchema>;

export const AdjustmentsChangeSchema = z.strictObject({ adjustments: AdjustmentsSchema, reason: Reason });

export const NoShowSchema = z.strictObject({ reason: Reason });

/** Book the same people again (a session the candidate did not attend, a cancelled one, or one stopped early). */
export const RebookSchema = z.strictObject({ scheduledStart: z.iso.datetime({ offset: true }) });

/** Someone booked into two sessions whose times overlap. */
export interface Conflict {
  personId: string;
  displayName: string;
  otherSessionId: string;
  otherTitle: string;
  otherStart: number;
}

export interface CalendarPerson {
  participantId: string;
  personId: string | null;
  displayName: string;
  role: Role;
}

export interface CalendarRow {
  sessionId: string;
  title: string;
  level: Level;
  templateId: string;
  templateName: string;
  scheduledStart: number;
  /** scheduledStart plus the planned day's length (template with the adjustments). */
  scheduledEnd: number;
  status: SessionStatus;
  dayStatus: DayStatus | null;
  people: CalendarPerson[];
  conflicts: Conflict[];
}

/** One line of a session's history, in words. */
export interface HistoryLine {
  at: string;
  who: string;
  action: string;
  text: string;
}

export interface SessionPage extends CalendarRow {
  candidateRef: string | null;
  adjustments: Adjustments;
  cancelReason: string | null;
  /** Actors' scenario numbers by participant id. */
  actorScenarios: Record<string, number[]>;
  /** Places whose person was swapped out (kept for the history). */
  replaced: CalendarPerson[];
  /** Scenario numbers the candidate was on stage in. */
  sat: number[];
  history: HistoryLine[];
}
