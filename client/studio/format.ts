// Small formatting and form helpers for the studio.
import type { z } from 'zod';
import { PHASE_LABELS, type DayState, type PhaseSpec } from '../../shared/assessment.ts';

/** "mm:ss" of a duration; minutes are not wrapped into hours (75:00 is an hour and a quarter). */
export function mmss(ms: number): string {
  const totalSeconds = Math.max(0, Math.ceil(Math.abs(ms) / 1000));
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}

/** "1 h 55 min", "10 min", "45 s". */
export function humanDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const totalMinutes = Math.round(seconds / 60);
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  if (hours === 0) return `${minutes} min`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

/** "Scenario 2", "Briefing and preparation (scenario 2)", "Written exercise". */
export function phaseName(phase: PhaseSpec): string {
  if (phase.kind === 'scenario') return `Scenario ${phase.scenario ?? ''}`.trim();
  if (phase.scenario !== undefined) return `${PHASE_LABELS[phase.kind]} (scenario ${phase.scenario})`;
  return PHASE_LABELS[phase.kind];
}

/** What a session is doing now, in words. */
export function dayLabel(day: DayState | null): string {
  if (!day) return 'Not set up';
  if (day.status === 'waiting') return 'Waiting';
  if (day.status === 'complete') return 'Complete';
  if (day.status === 'stopped') return 'Stopped early';
  const phase = day.phases[day.phaseIndex];
  const name = phase ? phaseName(phase) : 'Unknown phase';
  return day.status === 'paused' ? `Paused — ${name}` : name;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

export function formatDateTime(epochMs: number | null): string {
  if (epochMs === null || !Number.isFinite(epochMs)) return 'Not scheduled';
  return dateTimeFormat.format(new Date(epochMs));
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** A `datetime-local` input value ("2025-06-01T09:30") as ISO 8601 with the browser's offset
 *  ("2025-06-01T09:30:00+01:00"); null when the value is not a date and time. */
export function localInputToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const date = new Date(value); // no offset in the string: local time
  if (Number.isNaN(date.getTime())) return null;
  const offsetMinutes = -date.getTimezoneOffset();
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** A `datetime-local` value for a date (local time, minutes precision). */
export function dateToLocalInput(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** The start of the next full hour, at least 30 minutes from now, as a `datetime-local` value. */
export function nextHourInput(now = new Date()): string {
  const date = new Date(now.getTime() + 30 * 60_000);
  date.setMinutes(0, 0, 0);
  date.setHours(date.getHours() + 1);
  return dateToLocalInput(date);
}

/** Field problems keyed by dotted path ("candidate.displayName", "actors.0.scenarios"). */
export type FieldIssues = Record<string, string>;

/** Turns zod issues into one plain message per field (the first one wins). */
export function issuesByPath(issues: readonly z.core.$ZodIssue[], friendly: (issue: z.core.$ZodIssue) => string = plainMessage): FieldIssues {
  const out: FieldIssues = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.');
    out[key] ??= friendly(issue);
  }
  return out;
}

/** Zod's default messages, in words a coordinator can act on. */
export function plainMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'Required' : `Use at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return Number(issue.minimum) <= 1 ? 'Add at least one' : `Add at least ${issue.minimum}`;
      return `Must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `Use at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `At most ${issue.maximum} allowed`;
      return `Must be at most ${issue.maximum}`;
    case 'invalid_format':
      if (issue.format === 'regex') return 'Use 3–64 lower-case letters, digits or hyphens';
      if (issue.format === 'datetime') return 'Choose a date and time';
      return issue.message;
    case 'invalid_type':
      if (issue.expected === 'number') return 'Enter a number';
      if (issue.expected === 'string') return 'Required';
      return issue.message;
    default:
      return issue.message;
  }
}

/** Splits "a, b ,, c" into ["a", "b", "c"]. */
export function splitTags(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** How a form's fields point at their error messages (ids `<prefix>-err-<path>`), so that a
 *  screen reader reads the message with the field and the first invalid field can take focus. */
export function fieldErrorWiring(prefix: string, issues: () => FieldIssues) {
  const errId = (path: string): string => `${prefix}-err-${path.replace(/\./g, '-')}`;
  return {
    errId,
    invalid: (path: string): 'true' | undefined => (issues()[path] ? 'true' : undefined),
    describedBy: (path: string, hint?: string): string | undefined =>
      [hint, issues()[path] ? errId(path) : undefined].filter(Boolean).join(' ') || undefined,
  };
}
