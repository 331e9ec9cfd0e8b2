// Programme email (issue 15): what each booking event means for each person's inbox. Listens to
// studio.bookingEvents (emitted after the booking change committed) and queues, through the
// outbox, the organisation's templates filled in for each person: an invitation with an .ics,
// a change (updated .ics), a cancellation (METHOD:CANCEL), a day stopped early (to the candidate
// and actors, who may have lost their connection when it happened), the result being available
// (never the result itself); and keeps the person's reminders planned (server/programme/notification-reminders.ts).
// A person without an email address gets no mail (staff booked by name until they have an
// account; candidates and actors whose address the coordinator has not given).
import type { Participant } from '../../shared/domain.ts';
import { renderTemplate, type MailTemplateInput, type MailTemplateKind, type Placeholder } from '../../shared/mail.ts';
import { ROLE_LABELS } from '../../shared/roles.ts';
import { plannedPhases } from '../../shared/assessment.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import { transaction, type Database } from '../db/database.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { Invites } from '../invites.ts';
import type { Logger } from '../log.ts';
import { calendarFile } from '../mail/calendar-invite.ts';
import type { MailAttachment } from '../mail/mail-message.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { MailTemplates } from '../mail/mail-templates.ts';
import type { ReminderOffset } from '../mail/schedule-settings.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import type { BookingEvent, BookingEvents, StoredBookingEvent } from './booking-events.ts';
import { Reminders, type DueReminder } from './notification-reminders.ts';

export interface NotificationDeps {
  db: Database;
  mailer: Mailer;
  templates: MailTemplates;
  sessions: SessionsRepo;
  people: PeopleRepo;
  assessment: AssessmentService;
  invites: Invites;
  /** Whether the participant signs in as themselves (staff): they get no link. */
  signsInAsStaff: (participant: Participant) => boolean;
  baseUrl: () => string;
  /** The sender named as the calendar event's organiser (null: none). */
  organizer: { name: string; email: string } | null;
  reminders: readonly ReminderOffset[];
  timeZone: string;
  log: Logger;
  now?: () => number;
}

/** Who is told about a session: everyone in it but an analyst (never in the room). */
const TOLD = (p: Participant): boolean => p.role !== 'analyst';
const LINK_HOLDERS: ReadonlySet<Participant['role']> = new Set(['candidate', 'actor']);
/** Who is told when someone is swapped into the day. */
const STAFF_OF_THE_DAY: ReadonlySet<Participant['role']> = new Set(['leadObserver', 'observer', 'coordinator', 'moderator']);

/** A message as it will be queued (before the address check the outbox makes). */
export interface ComposedMail {
  to: string | null;
  subject: string;
  text: string;
  attachments: MailAttachment[];
}

interface Extras {
  reason?: string;
  when?: string;
  /** The .ics to attach: a REQUEST (invitation, change) or a CANCEL. */
  calendar?: 'REQUEST' | 'CANCEL';
  /** The start to write (a cancellation names the start that was planned). */
  start?: number | null;
  /** Rendering for a preview: nothing is issued (no invite link is made for it). */
  preview?: boolean;
}

export class Notifications {
  private readonly deps: NotificationDeps;
  private readonly now: () => number;
  readonly reminders: Reminders;
  private unsubscribe: (() => void) | null = null;
  /** Events being handled (awaited by close() and by tests through settled()). */
  private readonly pending = new Set<Promise<void>>();
  private queue: Promise<void> = Promise.resolve();

  constructor(deps: NotificationDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.reminders = new Reminders({
      db: deps.db,
      offsets: deps.reminders,
      now: this.now,
      log: deps.log,
      send: (due) => this.sendReminder(due),
      currentStart: (sessionId) => this.scheduledStart(sessionId),
    });
  }

  /**
   * Listens to booking events, hands over those a restart left unnotified (oldest first), and
   * starts the reminder loop.
   */
  start(events: BookingEvents): void {
    const take = ({ id, event }: StoredBookingEvent): void => {
      // One event at a time, in the order they happened: a change never overtakes the
      // invitation it changes (nor its calendar SEQUENCE).
      const handled = this.queue
        .then(() => this.handle(event, () => events.markNotified(id)))
        .catch((error: unknown) => this.deps.log.error({ err: error, event: event.kind, sessionId: event.sessionId }, 'booking email not queued'));
      this.queue = handled;
      this.pending.add(handled);
      void handled.finally(() => this.pending.delete(handled));
    };
    for (const stored of events.unnotified()) take(stored);
    this.unsubscribe = events.on(take);
    this.reminders.start();
  }

  /** Resolves once every event heard so far has been handled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.settled();
    await this.reminders.close();
  }

  /**
   * Queues the email the event calls for and updates the reminders, in one transaction with
   * `done` (the event marked notified): all of it is stored, or none and the event stays to be
   * handed over again. Composing (which may issue a link) happens before.
   */
  async handle(event: BookingEvent, done: () => void = () => undefined): Promise<void> {
    const work: Array<() => void> = [];
    await this.plan(event, work);
    transaction(this.deps.db, () => {
      for (const step of work) step();
      done();
    });
  }

  /** What the event calls for, composed, as steps to store (`work`). */
  private async plan(event: BookingEvent, work: Array<() => void>): Promise<void> {
    const send = async (kind: MailTemplateKind, participant: Participant, extras: Extras): Promise<void> => {
      const queue = await this.prepare(kind, participant, extras);
      if (queue) work.push(queue);
    };
    const session = this.deps.sessions.getSession(event.sessionId);
    // An event about another organisation's session is a bug in its sender: nothing is sent.
    if (!session || this.deps.sessions.organisationOf(event.sessionId) !== event.organisationId) {
      this.deps.log.warn({ event: event.kind, sessionId: event.sessionId }, 'booking event for an unknown session (or of another organisation): no email');
      return;
    }
    const everyone = this.deps.sessions.listParticipants(event.sessionId).filter(TOLD);
    const start = this.scheduledStart(event.sessionId);
    switch (event.kind) {
      case 'booked':
        for (const p of everyone) await send('invitation', p, { calendar: 'REQUEST' });
        work.push(() => this.reminders.plan(event.sessionId, everyone.map((p) => p.id), start));
        return;
      case 'rescheduled': {
        this.bumpSequence(event.sessionId);
        const reason = `it has moved from ${this.when(Date.parse(event.previousStart))} to ${this.when(Date.parse(event.scheduledStart))}.`;
        for (const p of everyone) await send('changed', p, { reason, calendar: 'REQUEST' });
        work.push(() => this.reminders.replan(event.sessionId, everyone.map((p) => p.id), start));
        return;
      }
      case 'cancelled': {
        this.bumpSequence(event.sessionId);
        work.push(() => this.reminders.cancel(event.sessionId));
        const reason = event.reason.trim() ? `the session has been cancelled (${event.reason.trim()}).` : 'the session has been cancelled.';
        for (const p of everyone) await send('cancelled', p, { reason, calendar: 'CANCEL', start });
        return;
      }
      case 'person-swapped': {
        this.bumpSequence(event.sessionId);
        const outgoing = this.deps.sessions.getParticipant(event.outgoingParticipantId);
        const incoming = this.deps.sessions.getParticipant(event.incomingParticipantId);
        if (outgoing?.sessionId === event.sessionId) {
          work.push(() => this.reminders.cancel(event.sessionId, [outgoing.id]));
          await send('cancelled', outgoing, { reason: 'someone else now takes your place in it.', calendar: 'CANCEL', start });
        }
        if (incoming?.sessionId === event.sessionId && TOLD(incoming)) {
          await send('invitation', incoming, { calendar: 'REQUEST' });
          work.push(() => this.reminders.plan(event.sessionId, [incoming.id], start));
        }
        // The staff who run the day are told who now takes part; the candidate's day and the
        // other actors' parts do not change, so they are not.
        if (outgoing && incoming) {
          const reason = `${incoming.displayName} now takes part as ${ROLE_LABELS[incoming.role].toLowerCase()} in place of ${outgoing.displayName}.`;
          for (const p of everyone) {
            if (STAFF_OF_THE_DAY.has(p.role) && p.id !== incoming.id && p.id !== outgoing.id) await send('changed', p, { reason, calendar: 'REQUEST' });
          }
        }
        return;
      }
      case 'adjustments-changed': {
        // The adjustments are the candidate's own business: the reason says only that the
        // timings changed (the updated .ics carries the day's new length).
        this.bumpSequence(event.sessionId);
        for (const p of everyone) await send('changed', p, { reason: 'the timings of the day have been adjusted.', calendar: 'REQUEST' });
        return;
      }
      case 'day-stopped': {
        for (const p of everyone) if (LINK_HOLDERS.has(p.role)) await send('day-stopped', p, {});
        return;
      }
      case 'result-available': {
        const candidate = this.deps.sessions.getParticipant(event.candidateParticipantId);
        if (candidate?.sessionId === event.sessionId && candidate.role === 'candidate') await send('result-available', candidate, {});
        return;
      }
    }
  }

  /**
   * The message this kind of email is for this participant, with `template` (the organisation's
   * unless given, e.g. an unsaved one being previewed). `to` is null when they have no address.
   */
  async compose(kind: MailTemplateKind, participant: Participant, extras: Extras, template?: MailTemplateInput): Promise<ComposedMail> {
    const organisationId = this.deps.sessions.organisationOf(participant.sessionId)!;
    const session = this.deps.sessions.getSession(participant.sessionId)!;
    const person = participant.personId ? this.deps.people.get(participant.personId) : undefined;
    const organisation = this.deps.people.organisation(organisationId)?.name ?? '';
    const start = extras.start !== undefined ? extras.start : this.scheduledStart(participant.sessionId);
    const { link, where } = await this.whereToGo(participant, kind, extras.preview === true);
    const values: Partial<Record<Placeholder, string>> = {
      name: participant.displayName,
      organisation,
      session: session.title,
      role: ROLE_LABELS[participant.role].toLowerCase(),
      ...this.dateValues(start),
      where,
      link,
      ...(extras.reason ? { reason: extras.reason } : {}),
      ...(extras.when ? { when: extras.when } : {}),
    };
    const chosen = template ?? this.deps.templates.get(organisationId, kind);
    // Values are one line each: a subject stays one header line whatever a name holds.
    const subject = renderTemplate(chosen.subject, values).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200);
    const text = renderTemplate(chosen.body, values);
    const attachments: MailAttachment[] = [];
    if (extras.calendar && start !== null && person?.email) {
      const content = calendarFile({
        sessionId: participant.sessionId,
        attendeeKey: participant.personId ?? participant.id,
        attendee: { name: participant.displayName, email: person.email },
        organizer: this.deps.organizer,
        title: `${session.title} (${organisation})`,
        description: text,
        start,
        durationMinutes: this.durationMinutes(participant.sessionId),
        sequence: this.sequence(participant.sessionId),
        method: extras.calendar,
        ...(LINK_HOLDERS.has(participant.role) ? {} : { url: `${this.deps.baseUrl()}/signin` }),
      });
      const name = extras.calendar === 'CANCEL' ? 'cancellation.ics' : 'invitation.ics';
      attachments.push({ filename: name, contentType: `text/calendar; charset=utf-8; method=${extras.calendar}`, content });
    }
    return { to: person?.email ?? null, subject, text, attachments };
  }

  /** Renders a template for a real participant, touching nothing (no link is issued). */
  async preview(kind: MailTemplateKind, participant: Participant, template: MailTemplateInput): Promise<{ subject: string; text: string }> {
    const mail = await this.compose(kind, participant, { ...this.sampleExtras(kind), preview: true }, template);
    return { subject: mail.subject, text: mail.text };
  }

  /** A template rendered for a made-up candidate a week from now (no session needed). */
  sample(kind: MailTemplateKind, organisationName: string, template: MailTemplateInput): { subject: string; text: string } {
    const extras = this.sampleExtras(kind);
    const values: Partial<Record<Placeholder, string>> = {
      name: 'Sam Sample',
      organisation: organisationName,
      session: 'Practitioner assessment (sample)',
      role: 'candidate',
      ...this.dateValues(this.now() + 7 * 24 * 3600_000),
      link: `${this.deps.baseUrl()}/join/…(their personal link)…`,
      where: `Join with your personal link (keep it to yourself: it signs in as you):\n${this.deps.baseUrl()}/join/…(their personal link)…`,
      ...(extras.reason ? { reason: extras.reason } : {}),
      ...(extras.when ? { when: extras.when } : {}),
    };
    return { subject: renderTemplate(template.subject, values), text: renderTemplate(template.body, values) };
  }

  sampleExtras(kind: MailTemplateKind): Extras {
    if (kind === 'reminder') return { when: inWords(this.deps.reminders.at(-1)?.ms ?? 24 * 3600_000) };
    if (kind === 'changed') return { reason: 'it has moved to another day.' };
    if (kind === 'cancelled') return { reason: 'the session has been cancelled.' };
    return {};
  }

  /** Date placeholders for a start (epoch ms), in the configured time zone. */
  dateValues(start: number | null): Pick<Record<Placeholder, string>, 'date' | 'time' | 'timezone'> {
    if (start === null) return { date: 'a day to be arranged', time: 'a time to be arranged', timezone: this.deps.timeZone };
    const zone = this.deps.timeZone;
    // Put together from its parts: ICU versions differ on the comma after the weekday.
    const parts = new Intl.DateTimeFormat('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: zone }).formatToParts(start);
    const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
    const date = `${part('weekday')} ${part('day')} ${part('month')} ${part('year')}`;
    const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone }).format(start);
    const short = new Intl.DateTimeFormat('en-GB', { timeZone: zone, timeZoneName: 'short' }).formatToParts(start).find((p) => p.type === 'timeZoneName')?.value;
    return { date, time, timezone: short && short !== zone ? `${zone}, ${short}` : zone };
  }

  private when(start: number): string {
    const v = this.dateValues(Number.isFinite(start) ? start : null);
    return `${v.date} at ${v.time}`;
  }

  private async whereToGo(participant: Participant, kind: MailTemplateKind, preview: boolean): Promise<{ link: string; where: string }> {
    const signIn = `${this.deps.baseUrl()}/signin`;
    if (!LINK_HOLDERS.has(participant.role) || this.deps.signsInAsStaff(participant)) {
      return { link: signIn, where: `Sign in to SimStudio as yourself at ${signIn}: the session is listed under “My sessions”.` };
    }
    // Nothing to join: no link is issued for it.
    if (kind === 'cancelled' || kind === 'day-stopped') return { link: '', where: '' };
    const link = preview ? `${this.deps.baseUrl()}/join/…(their personal link)…` : await this.deps.invites.current(this.deps.baseUrl(), participant);
    if (!link) return { link: '', where: 'Your coordinator will send you a new personal link.' };
    const what = kind === 'result-available' ? 'Read your result with your personal link' : 'Join with your personal link';
    return { link, where: `${what} (keep it to yourself: it signs in as you):\n${link}` };
  }

  /** The message composed, as a step that queues it (null: nobody to write to). */
  private async prepare(kind: MailTemplateKind, participant: Participant, extras: Extras): Promise<(() => void) | null> {
    // Nobody to write to: compose nothing (composing issues the person's link).
    const address = participant.personId ? this.deps.people.get(participant.personId)?.email : undefined;
    const mail = address ? await this.compose(kind, participant, extras) : { to: null };
    if (!mail.to) {
      this.deps.log.info({ sessionId: participant.sessionId, participantId: participant.id, kind }, 'no email address: not told by email');
      return null;
    }
    const message = {
      organisationId: this.deps.sessions.organisationOf(participant.sessionId) ?? null,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      kind: kind === 'changed' || kind === 'cancelled' ? `booking-${kind}` : kind,
      ...(mail.attachments.length ? { attachments: mail.attachments } : {}),
    };
    return () => void this.deps.mailer.enqueue(message);
  }

  /** The reminder for a due row, ready to queue (null: nobody to send it to). */
  private async sendReminder(due: DueReminder): Promise<(() => number) | null> {
    const participant = this.deps.sessions.getParticipant(due.participantId);
    if (!participant || participant.sessionId !== due.sessionId) return null;
    const mail = await this.compose('reminder', participant, { when: inWords(due.startsAt - this.now()), start: due.startsAt });
    const to = mail.to;
    if (!to) return null;
    const organisationId = this.deps.sessions.organisationOf(participant.sessionId) ?? null;
    return () => this.deps.mailer.enqueue({ organisationId, to, subject: mail.subject, text: mail.text, kind: 'reminder' });
  }

  scheduledStart(sessionId: string): number | null {
    return this.deps.assessment.plans.plan(sessionId)?.scheduledStart ?? null;
  }

  private durationMinutes(sessionId: string): number {
    const plan = this.deps.assessment.plans.plan(sessionId);
    const phases = this.deps.assessment.dayState(sessionId)?.phases ?? (plan ? plannedPhases(plan.template, plan.adjustments, plan.retake?.element ?? null) : []);
    const seconds = phases.reduce((sum, p) => sum + p.durationSeconds, 0);
    return seconds > 0 ? seconds / 60 : 60;
  }

  private sequence(sessionId: string): number {
    const row = this.deps.db.prepare('SELECT sequence FROM mail_calendar WHERE session_id = ?').get(sessionId) as { sequence: number } | undefined;
    return row?.sequence ?? 0;
  }

  private bumpSequence(sessionId: string): void {
    this.deps.db
      .prepare('INSERT INTO mail_calendar (session_id, sequence) VALUES (?, 1) ON CONFLICT(session_id) DO UPDATE SET sequence = mail_calendar.sequence + 1')
      .run(sessionId);
  }
}

/** "in 7 days", "in 1 day", "in 1 hour", "in 45 minutes": how soon, rounded to what a reader needs. */
export function inWords(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 60) return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `in ${hours} hour${hours === 1 ? '' : 's'}`;
  const days = Math.round(hours / 24);
  return `in ${days} day${days === 1 ? '' : 's'}`;
}
