// Each organisation's email templates: the shipped defaults, and what an organisation saved
// instead (one row per kind). A template is checked when saved: an unknown or unclosed
// placeholder is refused with a sentence naming it, so a message never goes out with "{{nmae}}".
import {
  MAIL_TEMPLATE_KINDS,
  MAIL_TEMPLATE_LABELS,
  PLACEHOLDERS,
  templateProblem,
  type MailTemplateInput,
  type MailTemplateKind,
  type MailTemplateView,
} from '../../shared/mail.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { Database } from '../db/database.ts';

export const DEFAULT_TEMPLATES: Record<MailTemplateKind, MailTemplateInput> = {
  invitation: {
    subject: 'Invitation: {{session}} on {{date}}',
    body: [
      'Hello {{name}},',
      '',
      'You are booked as {{role}} for {{session}} with {{organisation}} on {{date}} at {{time}} ({{timezone}}).',
      '',
      '{{where}}',
      '',
      'The attached calendar file (invitation.ics) puts the session in your calendar.',
    ].join('\n'),
  },
  reminder: {
    subject: 'Reminder: {{session}} starts {{when}}',
    body: ['Hello {{name}},', '', '{{session}} with {{organisation}} starts {{when}}: {{date}} at {{time}} ({{timezone}}). You take part as {{role}}.', '', '{{where}}'].join('\n'),
  },
  changed: {
    subject: 'Changed: {{session}}, now {{date}} at {{time}}',
    body: [
      'Hello {{name}},',
      '',
      '{{session}} with {{organisation}} has changed: {{reason}}',
      '',
      'It now takes place on {{date}} at {{time}} ({{timezone}}). You take part as {{role}}.',
      '',
      '{{where}}',
      '',
      'The attached calendar file (invitation.ics) updates the session in your calendar.',
    ].join('\n'),
  },
  cancelled: {
    subject: 'Cancelled: {{session}} on {{date}}',
    body: [
      'Hello {{name}},',
      '',
      '{{session}} with {{organisation}} on {{date}} at {{time}} ({{timezone}}) will not take place for you: {{reason}}',
      '',
      'The attached calendar file (cancellation.ics) removes it from your calendar.',
    ].join('\n'),
  },
  'day-stopped': {
    subject: 'Stopped early: {{session}} on {{date}}',
    body: [
      'Hello {{name}},',
      '',
      '{{session}} with {{organisation}} on {{date}}, which began at {{time}} ({{timezone}}), was stopped before the end. Nothing from it counts towards a result.',
      '',
      'Your coordinator will be in touch about what happens next, and about another date if one is needed.',
    ].join('\n'),
  },
  'result-available': {
    subject: 'Your result for {{session}} is available',
    body: ['Hello {{name}},', '', 'The result of {{session}} ({{date}}) with {{organisation}} has been signed off and is ready for you to read.', '', '{{where}}'].join('\n'),
  },
};

export class MailTemplates {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** The template the organisation sends for this kind (its own, else the default). */
  get(organisationId: string, kind: MailTemplateKind): MailTemplateInput & { custom: boolean } {
    const row = this.db.prepare('SELECT subject, body FROM mail_templates WHERE organisation_id = ? AND kind = ?').get(organisationId, kind) as
      | { subject: string; body: string }
      | undefined;
    return row ? { ...row, custom: true } : { ...DEFAULT_TEMPLATES[kind], custom: false };
  }

  list(organisationId: string): MailTemplateView[] {
    return MAIL_TEMPLATE_KINDS.map((kind) => ({ kind, label: MAIL_TEMPLATE_LABELS[kind], ...this.get(organisationId, kind), placeholders: [...PLACEHOLDERS[kind]] }));
  }

  /** Saves the organisation's own template; refuses a bad placeholder (stores nothing). */
  save(organisationId: string, kind: MailTemplateKind, input: MailTemplateInput, at: Date): void {
    assertTemplate(kind, input);
    this.db
      .prepare(
        `INSERT INTO mail_templates (organisation_id, kind, subject, body, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(organisation_id, kind) DO UPDATE SET subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at`,
      )
      .run(organisationId, kind, input.subject, input.body, at.toISOString());
  }

  /** Back to the shipped default; whether the organisation had its own. */
  reset(organisationId: string, kind: MailTemplateKind): boolean {
    return Number(this.db.prepare('DELETE FROM mail_templates WHERE organisation_id = ? AND kind = ?').run(organisationId, kind).changes) > 0;
  }
}

/** Throws a ProtocolFailure naming the first problem of the subject or body. */
export function assertTemplate(kind: MailTemplateKind, input: MailTemplateInput): void {
  for (const [field, text] of [
    ['subject', input.subject],
    ['body', input.body],
  ] as const) {
    const problem = templateProblem(kind, text);
    if (problem) throw new ProtocolFailure('INVALID_PAYLOAD', `${field}: ${problem}`);
  }
  // A subject is one header line: a placeholder cannot add a line break (values are single
  // lines), and the subject itself may not hold one.
  if (/[\r\n]/.test(input.subject)) throw new ProtocolFailure('INVALID_PAYLOAD', 'subject: one line only');
}
