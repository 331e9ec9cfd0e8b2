// Programme email (issue 15): the kinds of message the studio sends about a booking, their
// templates (subject + body with {{placeholders}}), and the delivery list coordinators read.
// Defined once here for server and client.
import { z } from 'zod';

export const MAIL_TEMPLATE_KINDS = ['invitation', 'reminder', 'changed', 'cancelled', 'day-stopped', 'result-available'] as const;
export const MailTemplateKindSchema = z.enum(MAIL_TEMPLATE_KINDS);
export type MailTemplateKind = z.infer<typeof MailTemplateKindSchema>;

export const MAIL_TEMPLATE_LABELS: Record<MailTemplateKind, string> = {
  invitation: 'Invitation',
  reminder: 'Reminder',
  changed: 'Booking changed',
  cancelled: 'Booking cancelled',
  'day-stopped': 'Day stopped early',
  'result-available': 'Result available',
};

/** What each placeholder becomes. */
export const PLACEHOLDER_HELP = {
  name: 'the person’s name',
  organisation: 'your organisation’s name',
  session: 'the session’s title',
  role: 'their role in the session (candidate, actor, …)',
  date: 'the day, e.g. Tuesday 8 December 2026',
  time: 'the start time, e.g. 09:30',
  timezone: 'the time zone of date and time',
  where: 'how they join: their personal link, or for staff where to sign in',
  link: 'their personal link (candidates and actors) or the sign-in page (staff)',
  reason: 'why the booking changed or was cancelled',
  when: 'for reminders: how soon it starts, e.g. in 1 day',
} as const;
export type Placeholder = keyof typeof PLACEHOLDER_HELP;

const COMMON: readonly Placeholder[] = ['name', 'organisation', 'session', 'role', 'date', 'time', 'timezone', 'where', 'link'];

/** The placeholders each kind may use (anything else is refused when the template is saved). */
export const PLACEHOLDERS: Record<MailTemplateKind, readonly Placeholder[]> = {
  invitation: COMMON,
  reminder: [...COMMON, 'when'],
  changed: [...COMMON, 'reason'],
  cancelled: [...COMMON, 'reason'],
  // Told to the candidate and actors (who may have lost their connection when it happened); the
  // reason stays with the staff (it may be the candidate's health).
  'day-stopped': ['name', 'organisation', 'session', 'role', 'date', 'time', 'timezone'],
  'result-available': ['name', 'organisation', 'session', 'date', 'where', 'link'],
};

export const MAIL_TEMPLATE_LIMITS = { subject: 200, body: 10_000 } as const;

export const MailTemplateInputSchema = z.strictObject({
  subject: z.string().trim().min(1).max(MAIL_TEMPLATE_LIMITS.subject),
  body: z.string().trim().min(1).max(MAIL_TEMPLATE_LIMITS.body),
});
export type MailTemplateInput = z.infer<typeof MailTemplateInputSchema>;

/** POST /api/studio/mail/preview: a template (saved or not) rendered for a real session of the
 *  organisation (its candidate, or the named participant) or, without one, for a sample. */
export const MailPreviewRequestSchema = z.strictObject({
  kind: MailTemplateKindSchema,
  subject: z.string().max(MAIL_TEMPLATE_LIMITS.subject),
  body: z.string().max(MAIL_TEMPLATE_LIMITS.body),
  sessionId: z.uuid().optional(),
  participantId: z.uuid().optional(),
});
export type MailPreviewRequest = z.infer<typeof MailPreviewRequestSchema>;

export interface MailPreview {
  subject: string;
  text: string;
  /** Whom it was rendered for: a real participant's name, or "a sample candidate". */
  renderedFor: string;
}

/** GET /api/studio/mail/templates: each kind, as the organisation has it. */
export interface MailTemplateView {
  kind: MailTemplateKind;
  label: string;
  subject: string;
  body: string;
  /** false: the shipped default (the organisation has not saved its own). */
  custom: boolean;
  placeholders: Placeholder[];
}

/** A template's problem, in words for the coordinator; null when it is fine. */
export function templateProblem(kind: MailTemplateKind, text: string): string | null {
  const allowed = PLACEHOLDERS[kind];
  const braces = /\{\{([^{}]*)\}\}/g;
  for (const match of text.matchAll(braces)) {
    const name = match[1]!.trim();
    if (!(allowed as readonly string[]).includes(name)) {
      return `{{${match[1]}}} is not a placeholder of the ${MAIL_TEMPLATE_LABELS[kind].toLowerCase()} email: use ${allowed.map((p) => `{{${p}}}`).join(', ')}`;
    }
  }
  // A brace pair left over once the placeholders are gone is a typo ({{name}, {name}}, {{ …).
  const rest = text.replace(braces, '');
  if (rest.includes('{{') || rest.includes('}}')) return 'a placeholder is not closed: write it as {{name}}, with two braces on each side';
  return null;
}

/** Fills the placeholders (the template has been checked: every one is known). */
export function renderTemplate(text: string, values: Partial<Record<Placeholder, string>>): string {
  return text.replace(/\{\{([^{}]*)\}\}/g, (_all, name: string) => values[name.trim() as Placeholder] ?? '');
}

/** Where a message stands, for people: queued, sent, retrying (attempt n, last error), failed. */
export type DeliveryState = 'queued' | 'retrying' | 'sent' | 'failed' | 'logged';

/** GET /api/studio/mail/outbox (coordinators): the organisation's mail and its delivery. No
 *  message text: the list is about delivery, and a text may hold someone's personal link. */
export interface MailDeliveryRow {
  id: number;
  to: string;
  subject: string;
  kind: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  nextAttemptAt: string | null;
  /** Names of attached files (e.g. invitation.ics). */
  attachments: string[];
}

export function deliveryState(status: 'queued' | 'sent' | 'failed' | 'logged', attempts: number): DeliveryState {
  return status === 'queued' && attempts > 0 ? 'retrying' : status;
}
