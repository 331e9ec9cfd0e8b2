// Programme email (issue 15 item 4) through a real studio and a real SMTP server (smtp-server,
// messages parsed by mailparser, .ics files parsed by ical.js): invitations with a calendar
// file on booking, changes, swaps and cancellations (events emitted as the booking code emits
// them), reminders on a clock the test moves, templates with preview, delivery status, and who
// may see and change them.
import ICAL from 'ical.js';
import type { Attachment, ParsedMail } from 'mailparser';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Participant } from '../../shared/domain.ts';
import type { MailDeliveryRow, MailPreview, MailTemplateView } from '../../shared/mail.ts';
import { STAFF_COOKIE, type Person } from '../../shared/people.ts';
import { loadConfig } from '../../server/config.ts';
import { Mailer } from '../../server/mail/mailer.ts';
import { MailInputError } from '../../server/mail/mail-message.ts';
import { MailTemplates } from '../../server/mail/mail-templates.ts';
import { parseReminderOffsets } from '../../server/mail/schedule-settings.ts';
import { Notifications } from '../../server/programme/notifications.ts';
import { demoBooking } from '../../server/demo.ts';
import { finishDemoDay } from '../../server/demo-finished.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { signOffDemoDay } from '../helpers/calibration.ts';
import { startSmtp, type Received, type TestSmtp } from '../helpers/smtp-server.ts';
import { OPEN_ROOM, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

const FROM = { name: 'Northshire SimStudio', address: 'no-reply@northshire.example' };
const HOUR = 3600_000;
const DAY = 24 * HOUR;

let smtp: TestSmtp;
let studio: TestStudio;
let orgId: string;
let otherOrgId: string;
/** A coordinator of the organisation (of an open room) and one of the other organisation. */
let coordinator: Participant;
let otherCoordinator: Participant;
let candidateOfRoom: Participant;
let people: Record<'candidate' | 'actor' | 'lead' | 'newActor', Person>;
const cookies = new Map<string, string>();

async function call<T = unknown>(who: Participant, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  let cookie = cookies.get(who.id);
  if (!cookie) {
    cookie = await signIn(studio, who);
    cookies.set(who.id, cookie);
  }
  const res = await fetch(`${studio.baseUrl}/api${path}${path.includes('?') ? '&' : '?'}participantId=${encodeURIComponent(who.id)}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface Calendar {
  method: string;
  uid: string;
  sequence: number;
  start: number;
  utc: boolean;
  status: string;
  attendee: string;
}

/** The .ics attached to a message, parsed by a real iCalendar parser. */
function calendarOf(mail: ParsedMail): Calendar & { filename: string; contentType: string } {
  const files = mail.attachments.filter((a: Attachment) => a.contentType === 'text/calendar');
  expect(files, `calendar files in "${mail.subject}"`).toHaveLength(1);
  const file = files[0]!;
  const root = new ICAL.Component(ICAL.parse(file.content.toString('utf8')) as unknown[]);
  const events = root.getAllSubcomponents('vevent');
  expect(events).toHaveLength(1);
  const event = events[0]!;
  const start = event.getFirstPropertyValue('dtstart') as ICAL.Time;
  return {
    filename: file.filename ?? '',
    contentType: file.contentType,
    method: String(root.getFirstPropertyValue('method')),
    uid: String(event.getFirstPropertyValue('uid')),
    sequence: Number(event.getFirstPropertyValue('sequence')),
    start: start.toJSDate().getTime(),
    utc: start.zone?.tzid === 'UTC',
    status: String(event.getFirstPropertyValue('status')),
    attendee: String(event.getFirstPropertyValue('attendee')),
  };
}

const to = (r: Received): string => r.rcptTo[0]!;

/** Messages received since `from`, by recipient. */
function receivedSince(from: number): Map<string, ParsedMail> {
  return new Map(smtp.received.slice(from).map((r) => [to(r), r.mail]));
}

let candidates = 0;
/** A booking's candidate: a new person of the organisation with an address (a candidate who has
 *  sat the bank's scenarios cannot be booked again). */
function newCandidate(name = 'Casey Candidate'): { displayName: string; candidateRef: string; personId: string } {
  candidates += 1;
  const ref = `NS-1${String(candidates).padStart(3, '0')}`;
  const person = studio.people.create(orgId, { displayName: name, email: `candidate${candidates}@home.example`, roles: ['candidate'], candidateRef: ref });
  return { displayName: name, candidateRef: ref, personId: person.id };
}

function participantOf(sessionId: string, personId: string): Participant {
  const found = studio.sessions.listParticipants(sessionId).find((p) => p.personId === personId);
  if (!found) throw new Error(`no participant for ${personId}`);
  return found;
}

beforeAll(async () => {
  smtp = await startSmtp();
  const base = loadConfig({});
  studio = await startTestStudio({ mail: { ...base.mail, smtp: { url: smtp.url, from: FROM }, reminders: parseReminderOffsets('7d,1d,1h'), timeZone: 'Europe/London' } });
  studio.templates.saveNewVersion(shortTemplate(3));
  const org = studio.people.createOrganisation('Northshire Council');
  orgId = org.id;
  otherOrgId = studio.people.createOrganisation('Southby Trust').id;
  const room = studio.sessions.create({ ...OPEN_ROOM, title: 'Northshire room', organisationId: orgId });
  coordinator = room.participants.find((p) => p.role === 'coordinator')!;
  candidateOfRoom = room.participants.find((p) => p.role === 'candidate')!;
  otherCoordinator = studio.sessions.create({ ...OPEN_ROOM, title: 'Southby room', organisationId: otherOrgId }).participants.find((p) => p.role === 'coordinator')!;
  people = {
    candidate: studio.people.create(orgId, { displayName: 'Casey Candidate', email: 'casey@home.example', roles: ['candidate'], candidateRef: 'NS-0001' }),
    actor: studio.people.create(orgId, { displayName: 'Ada Actor', email: 'ada@actors.example', roles: ['actor'] }),
    lead: studio.people.create(orgId, { displayName: 'Lee Lead', email: 'lee@northshire.example', roles: ['leadObserver'] }),
    newActor: studio.people.create(orgId, { displayName: 'Nia New-Actor', email: 'nia@actors.example', roles: ['actor'] }),
  };
}, 60_000);

afterAll(async () => {
  await studio?.close();
  await smtp?.close();
});

describe('booking emails with calendar files', () => {
  let sessionId: string;
  const start = Date.parse('2027-03-09T09:30:00.000Z');
  const uids = new Map<string, string>();

  it('sends each booked person with an address an invitation with a valid .ics, and their link only to candidates and actors', async () => {
    const before = smtp.received.length;
    const res = await call<{ sessionId: string }>(coordinator, 'POST', '/studio/sessions', {
      ...booking('short-3s', {
        title: 'Northshire practitioner day',
        scheduledStart: new Date(start).toISOString(),
        candidate: { displayName: 'Casey Candidate', candidateRef: 'NS-0001', personId: people.candidate.id },
        actors: [
          { displayName: 'Ada Actor', personId: people.actor.id, scenarios: [1] },
          { displayName: 'Ben Actor', scenarios: [2] },
        ],
        leadObserver: { displayName: 'Lee Lead', personId: people.lead.id },
      }),
    });
    expect(res.status).toBe(201);
    sessionId = res.body.sessionId;
    // Three people have an address (the second actor, observer, moderator and coordinator were booked by name).
    await expect.poll(() => smtp.received.length - before, { timeout: 15_000 }).toBe(3);
    const got = receivedSince(before);
    expect([...got.keys()].sort()).toEqual(['ada@actors.example', 'casey@home.example', 'lee@northshire.example']);

    for (const [address, mail] of got) {
      const ics = calendarOf(mail);
      expect(ics.filename).toBe('invitation.ics');
      expect(ics.method).toBe('REQUEST');
      expect(ics.status).toBe('CONFIRMED');
      expect(ics.sequence).toBe(0);
      expect(ics.start).toBe(start);
      expect(ics.utc).toBe(true);
      expect(ics.attendee.toLowerCase()).toBe(`mailto:${address}`);
      expect(ics.uid).toMatch(new RegExp(`^${sessionId}\\.`));
      uids.set(address, ics.uid);
      expect(mail.subject).toBe('Invitation: Northshire practitioner day on Tuesday 9 March 2027');
      expect(mail.text).toContain('on Tuesday 9 March 2027 at 09:30 (Europe/London, GMT)');
    }
    expect(new Set(uids.values()).size).toBe(3);

    // The candidate's link is their own and signs them in; the lead observer (staff) gets none.
    const candidateText = got.get('casey@home.example')!.text ?? '';
    const link = /http:\/\/\S+\/join\/\S+/.exec(candidateText)?.[0];
    expect(link).toBeDefined();
    const joined = await fetch(link!, { redirect: 'manual' });
    expect(joined.status).toBe(303);
    expect(joined.headers.get('location')).toContain(participantOf(sessionId, people.candidate.id).id);
    const leadText = got.get('lee@northshire.example')!.text ?? '';
    expect(leadText).not.toContain('/join/');
    expect(leadText).toContain(`${studio.baseUrl}/signin`);
    expect(leadText).toContain('as lead observer');

    // Reminders are planned for everyone told (7 people) at 7 days, 1 day and 1 hour before.
    const planned = studio.notifications.reminders.list(sessionId).filter((r) => r.status === 'planned');
    expect(planned).toHaveLength(7 * 3);
    expect(new Set(planned.map((r) => r.dueAt))).toEqual(new Set([start - 7 * DAY, start - DAY, start - HOUR]));
  });

  it('sends the change with the same UID and a higher SEQUENCE, and plans the reminders again', async () => {
    const before = smtp.received.length;
    const moved = start + 2 * DAY + 4 * HOUR; // Thursday 11 March 2027, 13:30
    studio.db.prepare('UPDATE session_plans SET scheduled_start = ? WHERE session_id = ?').run(moved, sessionId);
    studio.bookingEvents.emit({ kind: 'rescheduled', sessionId, organisationId: orgId, previousStart: new Date(start).toISOString(), scheduledStart: new Date(moved).toISOString() });
    await studio.notifications.settled();
    await expect.poll(() => smtp.received.length - before, { timeout: 15_000 }).toBe(3);
    for (const [address, mail] of receivedSince(before)) {
      const ics = calendarOf(mail);
      expect(ics.method).toBe('REQUEST');
      expect(ics.uid).toBe(uids.get(address));
      expect(ics.sequence).toBe(1);
      expect(ics.start).toBe(moved);
      expect(mail.subject).toBe('Changed: Northshire practitioner day, now Thursday 11 March 2027 at 13:30');
      expect(mail.text).toContain('it has moved from Tuesday 9 March 2027 at 09:30 to Thursday 11 March 2027 at 13:30.');
    }
    const rows = studio.notifications.reminders.list(sessionId);
    expect(rows.filter((r) => r.status === 'planned').every((r) => r.startsAt === moved)).toBe(true);
    expect(rows.filter((r) => r.status === 'planned')).toHaveLength(21);
    expect(rows.filter((r) => r.status === 'cancelled' && r.startsAt === start)).toHaveLength(21);
  });

  it('tells a swapped-out actor it is off (METHOD:CANCEL, their UID), invites the new one and tells the staff of the day', async () => {
    const before = smtp.received.length;
    const outgoing = participantOf(sessionId, people.actor.id);
    // What the booking code commits for a swap: the new person's place, and the scenario's actor.
    const incomingId = crypto.randomUUID();
    studio.db
      .prepare('INSERT INTO participants (id, session_id, role, display_name, created_at, person_id) VALUES (?, ?, ?, ?, ?, ?)')
      .run(incomingId, sessionId, 'actor', people.newActor.displayName, new Date().toISOString(), people.newActor.id);
    studio.db.prepare('UPDATE session_scenarios SET actor_participant_id = ? WHERE session_id = ? AND actor_participant_id = ?').run(incomingId, sessionId, outgoing.id);
    studio.bookingEvents.emit({ kind: 'person-swapped', sessionId, organisationId: orgId, role: 'actor', outgoingParticipantId: outgoing.id, incomingParticipantId: incomingId });
    await studio.notifications.settled();
    await expect.poll(() => smtp.received.length - before, { timeout: 15_000 }).toBe(3);
    const got = receivedSince(before);
    // The lead observer learns who now plays; the candidate's day is unchanged: no mail.
    expect(got.get('lee@northshire.example')!.text).toContain('has changed: Nia');
    expect(got.get('lee@northshire.example')!.text).toContain('now takes part as actor in place of Ada');
    expect(got.has('casey@home.example')).toBe(false);
    const off = calendarOf(got.get('ada@actors.example')!);
    expect(off.method).toBe('CANCEL');
    expect(off.status).toBe('CANCELLED');
    expect(off.uid).toBe(uids.get('ada@actors.example'));
    expect(off.sequence).toBe(2);
    expect(got.get('ada@actors.example')!.text).toContain('someone else now takes your place in it.');
    expect(got.get('ada@actors.example')!.text).not.toContain('/join/');
    const on = calendarOf(got.get('nia@actors.example')!);
    expect(on.method).toBe('REQUEST');
    expect(on.sequence).toBe(2);
    expect(on.uid).toBe(`${sessionId}.${people.newActor.id}@simstudio`);
    expect(got.get('nia@actors.example')!.text).toMatch(/\/join\/\S+/);
    const rows = studio.notifications.reminders.list(sessionId);
    expect(rows.filter((r) => r.participantId === outgoing.id && r.status === 'planned')).toEqual([]);
    expect(rows.filter((r) => r.participantId === incomingId && r.status === 'planned')).toHaveLength(3);
  });

  it('sends a cancellation (METHOD:CANCEL) to everyone and cancels every planned reminder', async () => {
    const before = smtp.received.length;
    studio.bookingEvents.emit({ kind: 'cancelled', sessionId, organisationId: orgId, reason: 'the candidate withdrew' });
    await studio.notifications.settled();
    await expect.poll(() => receivedSince(before).has('casey@home.example'), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => receivedSince(before).has('nia@actors.example'), { timeout: 15_000 }).toBe(true);
    const got = receivedSince(before);
    const candidate = calendarOf(got.get('casey@home.example')!);
    expect(candidate.method).toBe('CANCEL');
    expect(candidate.uid).toBe(uids.get('casey@home.example'));
    expect(candidate.sequence).toBe(3);
    expect(got.get('casey@home.example')!.subject).toBe('Cancelled: Northshire practitioner day on Thursday 11 March 2027');
    expect(got.get('casey@home.example')!.text).toContain('the session has been cancelled (the candidate withdrew).');
    expect(studio.notifications.reminders.list(sessionId).filter((r) => r.status === 'planned')).toEqual([]);
  });

  it('lists the delivery of every message to the coordinators of the organisation only', async () => {
    const list = await call<MailDeliveryRow[]>(coordinator, 'GET', '/studio/mail/outbox');
    expect(list.status).toBe(200);
    const invitation = list.body.find((r) => r.kind === 'invitation' && r.to === 'casey@home.example')!;
    expect(invitation).toMatchObject({ state: 'sent', attempts: 1, lastError: null, attachments: ['invitation.ics'] });
    expect(list.body.filter((r) => r.kind === 'booking-cancelled').length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(list.body)).not.toContain('/join/');
    // The administrators' outbox shows the text with every personal link withheld.
    const admin = studio.people.create(orgId, { displayName: 'Ash Admin', email: 'ash@northshire.example', roles: ['administrator'] });
    const secret = studio.staffSessions.create(admin.id, 'magic-link', 'vitest').secret;
    const outbox = await fetch(`${studio.baseUrl}/api/org/outbox`, { headers: { cookie: `${STAFF_COOKIE}=${secret}` } });
    const texts = ((await outbox.json()) as Array<{ kind: string; to: string; text: string }>).filter((m) => m.kind === 'invitation' && m.to === 'casey@home.example');
    expect(texts).toHaveLength(1);
    expect(texts[0]!.text).not.toContain('/join/');
    expect(texts[0]!.text).toContain('[personal link withheld: it signs in as the person it was sent to]');
    // Another organisation's coordinator sees none of it; a candidate may not look.
    const other = await call<MailDeliveryRow[]>(otherCoordinator, 'GET', '/studio/mail/outbox');
    expect(other.status).toBe(200);
    expect(other.body).toEqual([]);
    expect((await call(candidateOfRoom, 'GET', '/studio/mail/outbox')).status).toBe(403);
  });
});

describe('event order', () => {
  it('handles events one at a time: a change never overtakes the invitation it changes', async () => {
    const start = Date.parse('2027-04-06T09:00:00.000Z');
    const candidate = newCandidate();
    const { sessionId } = studio.assessment.book(booking('short-3s', { title: 'Ordered day', scheduledStart: new Date(start).toISOString(), candidate }), Math.random, orgId);
    const moved = start + DAY;
    studio.db.prepare('UPDATE session_plans SET scheduled_start = ? WHERE session_id = ?').run(moved, sessionId);
    // The booking announced itself as it committed; its first change follows a moment later,
    // before the invitation has been handled.
    studio.bookingEvents.emit({ kind: 'rescheduled', sessionId, organisationId: orgId, previousStart: new Date(start).toISOString(), scheduledStart: new Date(moved).toISOString() });
    await studio.notifications.settled();
    const address = studio.people.get(candidate.personId)!.email!;
    const rows = studio.mailer.list(orgId, { limit: 500 }).filter((m) => m.to === address).reverse();
    expect(rows.map((m) => m.kind)).toEqual(['invitation', 'booking-changed']);
    const sequences = rows.map((m) => Number(new ICAL.Component(ICAL.parse(m.attachments[0]!.content) as unknown[]).getFirstSubcomponent('vevent')!.getFirstPropertyValue('sequence')));
    expect(sequences).toEqual([0, 1]);
  });
});

describe('day stopped early', () => {
  it('tells the candidate and the actors, without the reason and without a link; the staff who stopped it are not mailed', async () => {
    const candidate = newCandidate('Stella Stopped');
    const { sessionId, participants } = studio.assessment.book(
      booking('short-3s', {
        title: 'Stopped day',
        scheduledStart: new Date(Date.now()).toISOString(),
        candidate,
        actors: [
          { displayName: 'Ada Actor', personId: people.actor.id, scenarios: [1] },
          { displayName: 'Ben Actor', scenarios: [2] },
        ],
        leadObserver: { displayName: 'Lee Lead', personId: people.lead.id },
      }),
      Math.random,
      orgId,
    );
    await studio.notifications.settled();
    const lead = participants.find((p) => p.role === 'leadObserver')!;
    const before = smtp.received.length;
    studio.assessment.control(lead, { action: 'start' });
    studio.assessment.control(lead, { action: 'stop', reason: 'The candidate is unwell' });
    await studio.notifications.settled();
    const address = studio.people.get(candidate.personId)!.email!;
    const stopped = (): Map<string, ParsedMail> => new Map(smtp.received.slice(before).filter((r) => r.mail.subject?.startsWith('Stopped early')).map((r) => [to(r), r.mail]));
    await expect.poll(() => [...stopped().keys()].sort(), { timeout: 15_000 }).toEqual(['ada@actors.example', address].sort());
    const mail = stopped().get(address)!;
    expect(mail.subject).toMatch(/^Stopped early: Stopped day on /);
    expect(mail.text).toContain('was stopped before the end. Nothing from it counts towards a result.');
    expect(mail.text).not.toContain('unwell');
    expect(mail.text).not.toContain('/join/');
    expect(mail.attachments).toEqual([]);
    // Queued for exactly those two (the lead, who has an address too, is not mailed).
    const queued = () => studio.mailer.list(orgId, { limit: 500 }).filter((m) => m.kind === 'day-stopped' && (m.to === address || m.to === 'ada@actors.example' || m.to === 'lee@northshire.example'));
    expect(queued().map((m) => m.to).sort()).toEqual(['ada@actors.example', address].sort());
    // Stopping is said once: a refused second stop sends nothing more.
    expect(() => studio.assessment.control(lead, { action: 'stop', reason: 'again' })).toThrow(/cannot be stopped/);
    await studio.notifications.settled();
    expect(queued()).toHaveLength(2);
  });
});

describe('result available', () => {
  it('emails the candidate that the result is ready once the moderator signs it off, never the result', async () => {
    const { sessionId, participants } = studio.assessment.book({ ...demoBooking(), title: 'Result day', candidate: newCandidate() }, Math.random, orgId);
    finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, sessionId, participants);
    const candidate = participants.find((p) => p.role === 'candidate')!;
    const address = studio.people.get(candidate.personId!)!.email!;
    const results = () => smtp.received.filter((r) => to(r) === address && r.mail.subject === 'Your result for Result day is available');
    await signOffDemoDay(studio, { sessionId, participants, one: (role) => participants.find((p) => p.role === role)! });
    await studio.notifications.settled();
    await expect.poll(() => results().length, { timeout: 15_000 }).toBe(1);
    const mail = results()[0]!.mail;
    expect(mail.text).toContain('has been signed off and is ready for you to read');
    expect(mail.text).toContain('Read your result with your personal link');
    expect(mail.text).not.toMatch(/\b(pass|passed|fail|failed|score|rating|outcome)\b/i);
    expect(mail.attachments).toEqual([]);
  });
});

describe('reminders on a clock the test moves', () => {
  let clock = 0;
  const deps = () => ({
    db: studio.db,
    mailer: studio.mailer,
    templates: new MailTemplates(studio.db),
    sessions: studio.sessions,
    people: studio.people,
    assessment: studio.assessment,
    invites: studio.invites,
    signsInAsStaff: () => false,
    baseUrl: () => studio.baseUrl,
    organizer: null,
    reminders: parseReminderOffsets('7d,1d,1h'),
    timeZone: 'Europe/London',
    log: pino({ level: 'silent' }),
    now: () => clock,
  });

  it('sends each once when due, survives a restart, skips the stale ones, sends none after a cancellation', async () => {
    clock = Date.now();
    const start = clock + 10 * DAY;
    const { sessionId, participants } = studio.assessment.book(
      booking('short-3s', { title: 'Reminded day', scheduledStart: new Date(start).toISOString(), candidate: newCandidate() }),
      Math.random,
      orgId,
    );
    const candidate = participants.find((p) => p.role === 'candidate')!;
    // The booking announced itself: the studio planned everyone's reminders (on its own clock,
    // none due yet). This instance, on the test's clock, takes them from the same rows.
    await studio.notifications.settled();
    let notifications = new Notifications(deps());
    notifications.reminders.plan(sessionId, [candidate.id], start);
    const reminded = () => studio.mailer.list(orgId, { limit: 500 }).filter((m) => m.kind === 'reminder' && m.text.includes('Reminded day'));

    // Not yet due: nothing.
    clock = start - 7 * DAY - 1000;
    await notifications.reminders.runDue();
    expect(reminded()).toEqual([]);
    // Due: one reminder, "in 7 days"; asking again sends nothing more.
    clock = start - 7 * DAY + 1000;
    await notifications.reminders.runDue();
    await notifications.reminders.runDue();
    expect(reminded().map((m) => m.subject)).toEqual(['Reminder: Reminded day starts in 7 days']);

    // A restart: a new instance over the same database carries on from the rows.
    await notifications.close();
    notifications = new Notifications(deps());
    clock = start - DAY + 1000;
    await notifications.reminders.runDue();
    expect(reminded().map((m) => m.subject)).toEqual(['Reminder: Reminded day starts in 1 day', 'Reminder: Reminded day starts in 7 days']);
    expect(reminded()[0]!.to).toMatch(/^candidate\d+@home\.example$/);

    // Cancelled: the 1-hour reminder never goes.
    await notifications.handle({ kind: 'cancelled', sessionId, organisationId: orgId, reason: 'illness' });
    clock = start - HOUR + 1000;
    await notifications.reminders.runDue();
    expect(reminded()).toHaveLength(2);
    const candidates = notifications.reminders.list(sessionId).filter((r) => r.participantId === candidate.id);
    expect(candidates.map((r) => r.status).sort()).toEqual(['cancelled', 'sent', 'sent']);
    // The others have no email address: their reminders were skipped, then cancelled with the day.
    expect(new Set(notifications.reminders.list(sessionId).filter((r) => r.participantId !== candidate.id).map((r) => r.status))).toEqual(new Set(['skipped', 'cancelled']));
    await notifications.close();
  });

  it('plans none for a time already past when booked, and after a pause sends only the nearest due', async () => {
    clock = Date.now();
    const soon = clock + 2 * HOUR;
    const { sessionId, participants } = studio.assessment.book(
      booking('short-3s', { title: 'Soon day', scheduledStart: new Date(soon).toISOString(), candidate: newCandidate() }),
      Math.random,
      orgId,
    );
    const candidate = participants.find((p) => p.role === 'candidate')!;
    const notifications = new Notifications(deps());
    expect(notifications.reminders.plan(sessionId, [candidate.id], soon)).toBe(1);
    expect(notifications.reminders.list(sessionId).map((r) => r.dueAt)).toEqual([soon - HOUR]);

    const later = clock + 3 * DAY;
    const second = studio.assessment.book(
      booking('short-3s', { title: 'Paused day', scheduledStart: new Date(later).toISOString(), candidate: newCandidate() }),
      Math.random,
      orgId,
    );
    const secondCandidate = second.participants.find((p) => p.role === 'candidate')!;
    expect(notifications.reminders.plan(second.sessionId, [secondCandidate.id], later)).toBe(2); // 1 day, 1 hour (7 days is past)
    // The studio was down until 30 minutes before the start: both are due, only the nearest goes.
    clock = later - 30 * 60_000;
    await notifications.reminders.runDue();
    const sent = studio.mailer.list(orgId, { limit: 500 }).filter((m) => m.kind === 'reminder' && m.text.includes('Paused day'));
    expect(sent.map((m) => m.subject)).toEqual(['Reminder: Paused day starts in 30 minutes']);
    expect(notifications.reminders.list(second.sessionId).map((r) => [r.offsetMs, r.status])).toEqual([
      [DAY, 'skipped'],
      [HOUR, 'sent'],
    ]);
    await notifications.close();
  });
});

describe('templates and preview', () => {
  it('ships defaults, refuses bad placeholders naming them, and sends what the organisation saved', async () => {
    const list = await call<MailTemplateView[]>(coordinator, 'GET', '/studio/mail/templates');
    expect(list.status).toBe(200);
    expect(list.body.map((t) => [t.kind, t.custom])).toEqual([
      ['invitation', false],
      ['reminder', false],
      ['changed', false],
      ['cancelled', false],
      ['day-stopped', false],
      ['result-available', false],
    ]);
    const typo = await call<{ error: { message: string } }>(coordinator, 'PUT', '/studio/mail/templates/invitation', { subject: 'Hi {{nmae}}', body: 'Hello {{name}}' });
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toContain('subject: {{nmae}} is not a placeholder of the invitation email');
    const unclosed = await call<{ error: { message: string } }>(coordinator, 'PUT', '/studio/mail/templates/invitation', { subject: 'Hi', body: 'Hello {{name}, see you' });
    expect(unclosed.status).toBe(400);
    expect(unclosed.body.error.message).toContain('body: a placeholder is not closed');
    const wrongKind = await call<{ error: { message: string } }>(coordinator, 'PUT', '/studio/mail/templates/invitation', { subject: 'Hi', body: 'Because {{reason}}' });
    expect(wrongKind.status).toBe(400);
    expect((await call<MailTemplateView[]>(coordinator, 'GET', '/studio/mail/templates')).body[0]!.custom).toBe(false);

    const saved = await call<MailTemplateView>(coordinator, 'PUT', '/studio/mail/templates/invitation', {
      subject: 'Northshire: {{session}}, {{date}}',
      body: 'Dear {{name}},\n\nWe look forward to seeing you at {{time}}.\n\n{{where}}',
    });
    expect(saved.status).toBe(200);
    expect(saved.body.custom).toBe(true);
    expect(studio.db.prepare("SELECT action FROM audit_log WHERE action = 'mail.template_saved'").all()).toHaveLength(1);
    // The other organisation still has the default.
    const theirs = await call<MailTemplateView[]>(otherCoordinator, 'GET', '/studio/mail/templates');
    expect(theirs.body[0]).toMatchObject({ kind: 'invitation', custom: false, subject: 'Invitation: {{session}} on {{date}}' });

    const before = smtp.received.length;
    const { sessionId } = studio.assessment.book(
      booking('short-3s', {
        title: 'Templated day',
        scheduledStart: '2027-06-01T08:00:00.000Z',
        candidate: newCandidate(),
      }),
      Math.random,
      orgId,
    );
    // The booking announces itself ('booked'): its invitations go out from that.
    await studio.notifications.settled();
    const invitations = () => smtp.received.slice(before).filter((r) => r.mail.subject?.startsWith('Northshire: Templated day'));
    await expect.poll(() => invitations().length, { timeout: 15_000 }).toBe(1);
    const mail = invitations()[0]!.mail;
    expect(mail.subject).toBe('Northshire: Templated day, Tuesday 1 June 2027');
    expect(mail.text).toContain('Dear Casey Candidate,');
    expect(mail.text).toContain('at 09:00.'); // 08:00 UTC is 09:00 in London in June
    expect(calendarOf(mail).start).toBe(Date.parse('2027-06-01T08:00:00.000Z'));

    // Back to the default.
    const reset = await call<MailTemplateView>(coordinator, 'DELETE', '/studio/mail/templates/invitation');
    expect(reset.body).toMatchObject({ custom: false, subject: 'Invitation: {{session}} on {{date}}' });
  });

  it('previews from a real session of the organisation or a sample, issuing nothing, and refuses another organisation’s session', async () => {
    const { sessionId } = studio.assessment.book(
      booking('short-3s', {
        title: 'Preview day',
        scheduledStart: '2027-01-12T10:00:00.000Z',
        candidate: newCandidate(),
      }),
      Math.random,
      orgId,
    );
    await studio.notifications.settled(); // the booking's own invitations (and their links) first
    const linksBefore = (studio.db.prepare('SELECT COUNT(*) AS n FROM invite_links').get() as { n: number }).n;
    const outboxBefore = studio.mailer.list(orgId, { limit: 500 }).length;
    const preview = await call<MailPreview>(coordinator, 'POST', '/studio/mail/preview', {
      kind: 'reminder',
      subject: '{{session}} {{when}}',
      body: 'Hi {{name}}, {{date}} at {{time}} ({{timezone}}).\n{{where}}',
      sessionId,
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({
      subject: 'Preview day in 1 hour',
      text: 'Hi Casey Candidate, Tuesday 12 January 2027 at 10:00 (Europe/London, GMT).\nJoin with your personal link (keep it to yourself: it signs in as you):\n' + `${studio.baseUrl}/join/…(their personal link)…`,
      renderedFor: 'Casey Candidate',
    });
    expect((studio.db.prepare('SELECT COUNT(*) AS n FROM invite_links').get() as { n: number }).n).toBe(linksBefore);
    expect(studio.mailer.list(orgId, { limit: 500 })).toHaveLength(outboxBefore);

    const sample = await call<MailPreview>(coordinator, 'POST', '/studio/mail/preview', { kind: 'invitation', subject: 'For {{name}}', body: '{{organisation}}' });
    expect(sample.body).toMatchObject({ subject: 'For Sam Sample', text: 'Northshire Council', renderedFor: 'a sample candidate' });

    const bad = await call<{ error: { message: string } }>(coordinator, 'POST', '/studio/mail/preview', { kind: 'invitation', subject: 'x', body: '{{link}} {{reason}}' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('{{reason}} is not a placeholder of the invitation email');

    const foreign = await call(otherCoordinator, 'POST', '/studio/mail/preview', { kind: 'invitation', subject: 'x', body: '{{name}}', sessionId });
    expect(foreign.status).toBe(404);
    expect((await call(candidateOfRoom, 'POST', '/studio/mail/preview', { kind: 'invitation', subject: 'x', body: 'y' })).status).toBe(403);
    expect((await call(candidateOfRoom, 'PUT', '/studio/mail/templates/invitation', { subject: 'x', body: 'y' })).status).toBe(403);
    expect((await call(candidateOfRoom, 'GET', '/studio/mail/templates')).status).toBe(403);
  });
});

describe('delivery when the SMTP server refuses', () => {
  it('shows a refused message as retrying with its attempt and error, then failed after the last try, never lost', async () => {
    const refusing = await startSmtp({ code: 451, message: 'Mailbox busy, try later' });
    try {
      // A mailer on the studio's outbox whose clock is a year ahead: its rows are not due for
      // the studio's own loop, so only this one (moved by the test) delivers them.
      // The studio has delivered all it queued, so the row below is the only one queued.
      await expect.poll(() => studio.db.prepare("SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'queued'").get(), { timeout: 15_000 }).toEqual({ n: 0 });
      let clock = Date.now() + 365 * DAY;
      const mailer = new Mailer({ db: studio.db, log: pino({ level: 'silent' }), smtp: { url: refusing.url, from: FROM }, now: () => clock, retryDelaysMs: [60_000, 300_000] });
      const id = mailer.enqueue({ organisationId: orgId, to: 'refused.one@home.example', subject: 'Refused one', text: 'Hello', kind: 'reminder' });
      const row = async () => (await call<MailDeliveryRow[]>(coordinator, 'GET', '/studio/mail/outbox')).body.find((r) => r.id === id)!;
      expect(await row()).toMatchObject({ state: 'queued', attempts: 0 });
      await mailer.deliverDue();
      const retrying = await row();
      expect(retrying).toMatchObject({ state: 'retrying', attempts: 1 });
      expect(retrying.lastError).toContain('451');
      expect(Date.parse(retrying.nextAttemptAt!)).toBe(clock + 60_000);
      clock += 60_000;
      await mailer.deliverDue();
      expect(await row()).toMatchObject({ state: 'retrying', attempts: 2 });
      clock += 300_000;
      await mailer.deliverDue();
      const failed = await row();
      expect(failed).toMatchObject({ state: 'failed', attempts: 3, nextAttemptAt: null });
      expect(failed.lastError).toContain('Mailbox busy');
      expect(refusing.rcptAttempts).toEqual(['refused.one@home.example', 'refused.one@home.example', 'refused.one@home.example']);
      await mailer.close();
    } finally {
      await refusing.close();
    }
  });
});

describe('attachments', () => {
  it('refuses an attachment with a header-breaking name, an odd type or too much content, storing nothing', () => {
    const mail = { organisationId: orgId, to: 'casey@home.example', subject: 'Attached', text: 'Hello', kind: 'invitation' };
    const before = studio.mailer.list(orgId, { limit: 500 }).length;
    const bad = [
      { filename: 'invite"\r\nBcc: x@y.example.ics', contentType: 'text/calendar', content: 'BEGIN:VCALENDAR' },
      { filename: 'invitation.ics', contentType: 'text/calendar\r\nX: y', content: 'BEGIN:VCALENDAR' },
      { filename: 'invitation.ics', contentType: 'text/calendar', content: 'x'.repeat(64 * 1024 + 1) },
    ];
    for (const attachment of bad) expect(() => studio.mailer.enqueue({ ...mail, attachments: [attachment] })).toThrow(MailInputError);
    expect(() => studio.mailer.enqueue({ ...mail, attachments: Array.from({ length: 4 }, () => ({ filename: 'a.ics', contentType: 'text/calendar', content: 'x' })) })).toThrow(MailInputError);
    expect(studio.mailer.list(orgId, { limit: 500 })).toHaveLength(before);
  });
});

describe('settings', () => {
  it('reads reminder times and the mail time zone, refusing bad ones with a clear error', () => {
    expect(loadConfig({}).mail.reminders.map((r) => r.label)).toEqual(['7d', '1d', '1h']);
    expect(loadConfig({ SIMSTUDIO_REMINDERS: '2h,3d' }).mail.reminders.map((r) => r.ms)).toEqual([3 * DAY, 2 * HOUR]);
    expect(loadConfig({ SIMSTUDIO_REMINDERS: '' }).mail.reminders).toEqual([]);
    expect(() => loadConfig({ SIMSTUDIO_REMINDERS: '7 days' })).toThrow('invalid configuration: SIMSTUDIO_REMINDERS: "7 days" is not a reminder time');
    expect(() => loadConfig({ SIMSTUDIO_REMINDERS: '1d,24h' })).toThrow('the same reminder time is given twice');
    expect(loadConfig({ SIMSTUDIO_MAIL_TIME_ZONE: 'America/New_York' }).mail.timeZone).toBe('America/New_York');
    expect(() => loadConfig({ SIMSTUDIO_MAIL_TIME_ZONE: 'Europe/Lndon' })).toThrow('invalid configuration: SIMSTUDIO_MAIL_TIME_ZONE: "Europe/Lndon" is not a time zone');
  });
});
