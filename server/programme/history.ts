// A session's audit rows in words, for its page in the studio.
import type { HistoryLine } from '../../shared/programme.ts';
import type { AuditEntry } from '../db/audit-repo.ts';

const when = (ms: unknown): string => (typeof ms === 'number' || typeof ms === 'string' ? new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '?');
const reason = (detail: Record<string, unknown>): string => (typeof detail.reason === 'string' ? ` Reason: ${detail.reason}` : '');
const named = (value: unknown): string => (value && typeof value === 'object' && 'name' in value ? String((value as { name: unknown }).name) : 'someone');

const DESCRIBE: Record<string, (detail: Record<string, unknown>) => string> = {
  'session.booked': () => 'Booked the session.',
  'session.rescheduled': (d) => `Moved the session from ${when(d.from)} to ${when(d.to)}.${reason(d)}`,
  'session.cancelled': (d) => `Cancelled the session.${reason(d)}`,
  'session.person_swapped': (d) => `Replaced ${named(d.outgoing)} by ${named(d.incoming)} (${String(d.role)}).${reason(d)}`,
  'session.adjustments_changed': (d) => `Changed the candidate's adjustments.${reason(d)}`,
  'session.no_show': (d) => `Marked the candidate as not attending.${reason(d)}`,
  'session.rebooked': (d) => `Booked the same people again (new session ${String(d.newSessionId)}).`,
  'invite.viewed': () => 'Looked at the invite links.',
  'invite.reissued': () => 'Reissued an invite link.',
  'invite.revoked': () => 'Withdrew an invite link.',
  'room.joined': () => 'Joined the room.',
  'room.left': () => 'Left the room.',
  'day.start': () => 'Started the day.',
  'day.advance': () => 'Moved the day to the next phase.',
  'day.pause': (d) => `Paused the day.${reason(d)}`,
  'day.resume': () => 'Resumed the day.',
  'day.extend': (d) => `Added ${String(d.seconds)} s to the phase.${reason(d)}`,
  'day.stop': (d) => `Stopped the day early.${reason(d)}`,
  'day.timer': () => 'The phase ended on time.',
};

export function historyLines(entries: AuditEntry[]): HistoryLine[] {
  return entries.map((e) => ({
    at: e.at,
    who: e.actor ? `${e.actor.name} (${e.actor.role})` : (e.job ?? 'SimStudio'),
    action: e.action,
    text: DESCRIBE[e.action]?.(e.detail) ?? e.action.replace(/[._]/g, ' '),
  }));
}
