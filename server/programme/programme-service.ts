// Running a programme (issue 15): the sessions calendar with double-booking conflicts, a
// session's page, and every change to a booking — reschedule, cancel, swap a person, change
// the candidate's adjustments, mark a no-show, rebook. Each change is one transaction with its
// audit row; the matching booking event is emitted only after it committed.
import { plannedPhases, startsInThePast, type Adjustments, type BookSession, type DayStatus, type PhaseSpec, type Template } from '../../shared/assessment.ts';
import type { Level, Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { CalendarPerson, CalendarQuery, CalendarRow, Conflict, SessionPage, SessionStatus, Swap } from '../../shared/programme.ts';
import type { Role } from '../../shared/roles.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { transaction, type Database } from '../db/database.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { Invites } from '../invites.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import type { BookingEvents } from './booking-events.ts';
import { historyLines } from './history.ts';

interface CalendarSource {
  id: string;
  title: string;
  level: Level;
  cancelled_at: string | null;
  cancel_reason: string | null;
  no_show_at: string | null;
  template: string;
  adjustments: string;
  retake_element: string | null;
  scheduled_start: number;
  day_status: DayStatus | null;
  day_phases: string | null;
}

interface Booked {
  row: Omit<CalendarRow, 'conflicts'>;
  source: CalendarSource;
}

export interface ProgrammeDeps {
  db: Database;
  sessions: SessionsRepo;
  people: PeopleRepo;
  assessment: AssessmentService;
  invites: Invites;
  audit: AuditRepo;
  events: BookingEvents;
  now?: () => number;
}

/** Sessions that ended without a result: nobody is booked into them any more; the same people can be booked again. */
const ENDED: ReadonlySet<SessionStatus> = new Set(['cancelled', 'no-show', 'stopped']);
/** Who must be in the room for the whole day: booked into two overlapping days is a conflict.
 *  (Coordinators oversee days side by side; moderators and analysts work afterwards.) */
const PRESENT_ALL_DAY: ReadonlySet<Role> = new Set(['candidate', 'actor', 'observer', 'leadObserver']);

export class ProgrammeService {
  private readonly deps: ProgrammeDeps;
  private readonly now: () => number;

  constructor(deps: ProgrammeDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  // ---- reading ----

  /** The organisation's booked sessions matching the query, by start, each with the
   *  double bookings it is part of (over all the organisation's sessions still on). */
  calendar(organisationId: string, query: CalendarQuery = {}): CalendarRow[] {
    const all = this.booked(organisationId);
    const conflicts = conflictsOf(all.map((b) => b.row));
    const from = query.from ? Date.parse(query.from) : -Infinity;
    const to = query.to ? Date.parse(query.to) : Infinity;
    return all
      .map((b) => ({ ...b.row, conflicts: conflicts.get(b.row.sessionId) ?? [] }))
      .filter(
        (r) =>
          r.scheduledStart >= from &&
          r.scheduledStart < to &&
          (!query.status || r.status === query.status) &&
          (!query.level || r.level === query.level) &&
          (!query.templateId || r.templateId === query.templateId) &&
          (!query.personId || r.people.some((p) => p.personId === query.personId)),
      );
  }

  /** One session's page: its people, adjustments, what the candidate sat, and its history. */
  page(sessionId: string): SessionPage {
    const organisationId = this.deps.sessions.organisationOf(sessionId);
    const row = organisationId ? this.calendar(organisationId).find((r) => r.sessionId === sessionId) : undefined;
    const plan = this.deps.assessment.plans.plan(sessionId);
    if (!row || !plan) throw new ProtocolFailure('NOT_FOUND', 'no such booked session');
    const actorScenarios: Record<string, number[]> = {};
    for (const slot of this.deps.assessment.plans.slots(sessionId)) {
      if (slot.actorParticipantId) (actorScenarios[slot.actorParticipantId] ??= []).push(slot.number);
    }
    return {
      ...row,
      candidateRef: plan.candidateRef,
      adjustments: plan.adjustments,
      cancelReason: this.deps.sessions.closure(sessionId).cancelReason,
      actorScenarios,
      replaced: this.deps.sessions.listReplaced(sessionId).map(calendarPerson),
      sat: this.deps.assessment.plans.scenariosAttended(sessionId),
      history: historyLines(this.deps.audit.list(sessionId)),
    };
  }

  // ---- changing a booking ----

  reschedule(sessionId: string, input: { scheduledStart: string; reason: string }, by: Participant): void {
    const { status, plan } = this.changeable(sessionId);
    if (status !== 'scheduled') throw new ProtocolFailure('CONFLICT', 'the day has started: it can no longer be moved');
    if (startsInThePast(input.scheduledStart, this.now())) {
      throw new ProtocolFailure('INVALID_PAYLOAD', 'scheduledStart: this time has already passed: choose a time from now on');
    }
    const previous = plan.scheduledStart;
    const next = Date.parse(input.scheduledStart);
    if (previous === next) throw new ProtocolFailure('INVALID_PAYLOAD', 'scheduledStart: the session is already at this time');
    transaction(this.deps.db, () => {
      this.deps.assessment.plans.setScheduledStart(sessionId, next);
      const moved = this.deps.invites.moveWithDay(sessionId);
      this.deps.audit.append({ sessionId, actorParticipantId: by.id, action: 'session.rescheduled', detail: { from: previous, to: next, reason: input.reason, linksMoved: moved } });
    });
    this.deps.assessment.restage(sessionId);
    this.emit({
      kind: 'rescheduled',
      sessionId,
      organisationId: this.organisationOf(sessionId),
      previousStart: new Date(previous ?? next).toISOString(),
      scheduledStart: new Date(next).toISOString(),
    });
  }

  cancel(sessionId: string, reason: string, by: Participant): void {
    const { status } = this.changeable(sessionId);
    if (status !== 'scheduled') throw new ProtocolFailure('CONFLICT', 'the day has started: it can no longer be cancelled');
    transaction(this.deps.db, () => {
      this.deps.sessions.markCancelled(sessionId, reason);
      this.deps.audit.append({ sessionId, actorParticipantId: by.id, action: 'session.cancelled', detail: { reason } });
    });
    // Live connections close at their next sign-in check (ParticipantAuth.stillValid: the place has ended).
    this.emit({ kind: 'cancelled', sessionId, organisationId: this.organisationOf(sessionId), reason });
  }

  /** Replaces the person in one place by another of the same organisation and role. The
   *  outgoing place ends at once (links revoked; live connections close at the next check). */
  swap(sessionId: string, input: Swap, by: Participant): Participant {
    const { status, plan } = this.changeable(sessionId);
    if (status === 'complete' || status === 'stopped') throw new ProtocolFailure('CONFLICT', 'the day is over: nobody can be swapped any more');
    const outgoing = this.deps.sessions.getParticipant(input.participantId);
    if (!outgoing || outgoing.sessionId !== sessionId || this.deps.sessions.listReplaced(sessionId).some((p) => p.id === outgoing.id)) {
      throw new ProtocolFailure('NOT_FOUND', 'no such person in this session');
    }
    if (outgoing.role === 'candidate' && status !== 'scheduled') {
      throw new ProtocolFailure('CONFLICT', 'the day has started: the candidate can no longer be changed');
    }
    if (input.incoming.personId && input.incoming.personId === outgoing.personId) {
      throw new ProtocolFailure('INVALID_PAYLOAD', `incoming: ${outgoing.displayName} already holds this place`);
    }
    const current = this.deps.sessions.listParticipants(sessionId);
    if (input.incoming.personId && current.some((p) => p.personId === input.incoming.personId && p.role === outgoing.role)) {
      throw new ProtocolFailure('CONFLICT', `${input.incoming.displayName} is already booked into this session as ${outgoing.role}`);
    }
    if (outgoing.role === 'candidate' && !input.incoming.personId && !input.incoming.candidateRef) {
      throw new ProtocolFailure('INVALID_PAYLOAD', 'incoming.candidateRef: a new candidate needs their candidate reference');
    }
    const organisationId = this.organisationOf(sessionId);
    const incoming = transaction(this.deps.db, () => {
      const added = this.deps.sessions.addParticipant(sessionId, {
        role: outgoing.role,
        displayName: input.incoming.displayName,
        ...(input.incoming.personId ? { personId: input.incoming.personId } : {}),
        ...(outgoing.role === 'candidate' && input.incoming.candidateRef ? { candidateRef: input.incoming.candidateRef } : {}),
      });
      if (outgoing.role === 'candidate') this.takeOverCandidate(sessionId, added, organisationId, plan.candidateRef);
      this.deps.sessions.markReplaced(outgoing.id);
      const revoked = this.deps.invites.revoke(outgoing);
      if (outgoing.role === 'actor') this.deps.assessment.plans.moveActor(sessionId, outgoing.id, added.id);
      this.deps.audit.append({
        sessionId,
        actorParticipantId: by.id,
        action: 'session.person_swapped',
        detail: {
          role: outgoing.role,
          outgoing: { participantId: outgoing.id, personId: outgoing.personId ?? null, name: outgoing.displayName },
          incoming: { participantId: added.id, personId: added.personId ?? null, name: added.displayName },
          linksRevoked: revoked,
          reason: input.reason,
        },
      });
      return added;
    });
    this.deps.assessment.restage(sessionId);
    this.emit({ kind: 'person-swapped', sessionId, organisationId, role: outgoing.role, outgoingParticipantId: outgoing.id, incomingParticipantId: incoming.id });
    return incoming;
  }

  /** The incoming candidate's reference becomes the session's; they must not have sat what it draws. */
  private takeOverCandidate(sessionId: string, candidate: Participant, organisationId: string, previousRef: string | null): void {
    const ref = candidate.personId ? this.deps.people.get(candidate.personId)?.candidateRef : null;
    if (!ref) throw new ProtocolFailure('INVALID_PAYLOAD', `incoming: ${candidate.displayName} has no candidate reference`);
    if (ref === previousRef) return;
    const sat = this.deps.assessment.plans.scenariosSatBy(ref, organisationId);
    const clash = this.deps.assessment.plans.slots(sessionId).filter((s) => sat.has(s.scenarioId));
    if (clash.length > 0) {
      throw new ProtocolFailure('CONFLICT', `${candidate.displayName} has already sat scenario ${clash.map((s) => s.number).join(', ')} of this session: cancel it and book them a session of their own`);
    }
    this.deps.assessment.plans.setCandidateRef(sessionId, ref);
  }

  changeAdjustments(sessionId: string, adjustments: Adjustments, reason: string, by: Participant): void {
    const { status, plan } = this.changeable(sessionId);
    if (status !== 'scheduled' || (plan.scheduledStart !== null && plan.scheduledStart <= this.now())) {
      throw new ProtocolFailure('CONFLICT', 'the day has started: the adjustments can no longer be changed');
    }
    this.deps.assessment.changeAdjustments(sessionId, adjustments, () =>
      this.deps.audit.append({ sessionId, actorParticipantId: by.id, action: 'session.adjustments_changed', detail: { from: plan.adjustments, to: adjustments, reason } }),
    );
    this.emit({ kind: 'adjustments-changed', sessionId, organisationId: this.organisationOf(sessionId) });
  }

  /** The candidate did not come: recorded and audited; the session closes (nobody joins it any
   *  more) and what it drew stays in the bank for the candidate's next booking. */
  markNoShow(sessionId: string, reason: string, by: Participant): void {
    const { status, plan } = this.changeable(sessionId);
    if (plan.scheduledStart !== null && plan.scheduledStart > this.now()) {
      throw new ProtocolFailure('CONFLICT', 'the session has not started yet: reschedule or cancel it instead');
    }
    if (status === 'complete' || status === 'stopped') throw new ProtocolFailure('CONFLICT', 'the day is over');
    if (this.deps.assessment.plans.scenariosAttended(sessionId).length > 0) {
      throw new ProtocolFailure('CONFLICT', 'the candidate was on stage in this session: they attended');
    }
    if (status === 'running') throw new ProtocolFailure('CONFLICT', 'the day is running: end it first');
    const candidate = this.deps.sessions.listParticipants(sessionId).find((p) => p.role === 'candidate');
    transaction(this.deps.db, () => {
      this.deps.sessions.markNoShow(sessionId);
      this.deps.audit.append({ sessionId, actorParticipantId: by.id, action: 'session.no_show', detail: { candidateParticipantId: candidate?.id ?? null, reason } });
    });
  }

  /** Books the same people, template and adjustments again at a new time (after a no-show or a
   *  cancellation): the draw avoids only what the candidate actually sat. */
  rebook(sessionId: string, scheduledStart: string, by: Participant): { sessionId: string; participants: Participant[] } {
    const status = this.statusOf(sessionId);
    const plan = this.deps.assessment.plans.plan(sessionId);
    if (!plan || !status) throw new ProtocolFailure('NOT_FOUND', 'no such booked session');
    if (!ENDED.has(status)) throw new ProtocolFailure('CONFLICT', 'only a cancelled session, one the candidate did not attend or one stopped early can be booked again');
    const people = this.deps.sessions.listParticipants(sessionId);
    const place = (p: Participant) => ({ displayName: p.displayName, ...(p.personId ? { personId: p.personId } : {}) });
    const one = (role: Role) => people.find((p) => p.role === role);
    const candidate = one('candidate');
    const lead = one('leadObserver');
    const coordinator = one('coordinator');
    if (!candidate || !lead || !coordinator || !plan.candidateRef) throw new ProtocolFailure('CONFLICT', 'this session lacks a candidate, lead observer or coordinator to book again');
    const slots = this.deps.assessment.plans.slots(sessionId);
    const actors = people
      .filter((p) => p.role === 'actor')
      .map((p) => ({ ...place(p), scenarios: slots.filter((s) => s.actorParticipantId === p.id).map((s) => s.number) }))
      .filter((a) => a.scenarios.length > 0);
    const moderator = one('moderator');
    const analyst = one('analyst');
    const booking: BookSession = {
      title: this.deps.sessions.getSession(sessionId)?.title ?? 'Assessment',
      templateId: plan.template.id,
      scheduledStart,
      candidate: { ...place(candidate), candidateRef: plan.candidateRef },
      leadObserver: place(lead),
      observers: people.filter((p) => p.role === 'observer').map(place),
      actors,
      ...(moderator ? { moderator: place(moderator) } : {}),
      coordinator: place(coordinator),
      ...(analyst ? { analyst: place(analyst) } : {}),
      adjustments: plan.adjustments,
      ...(plan.employer ? { employer: plan.employer } : {}),
      ...(plan.retake ? { retake: plan.retake } : {}),
    };
    const organisationId = this.organisationOf(sessionId);
    const booked = this.deps.assessment.book(booking, Math.random, organisationId, by.id);
    this.deps.audit.append({ sessionId, actorParticipantId: by.id, action: 'session.rebooked', detail: { newSessionId: booked.sessionId } });
    return booked;
  }

  // ---- helpers ----

  private emit(event: Parameters<BookingEvents['emit']>[0]): void {
    this.deps.events.emit(event);
  }

  private organisationOf(sessionId: string): string {
    return this.deps.sessions.organisationOf(sessionId) ?? this.deps.sessions.defaultOrganisation();
  }

  /** A booked session that can still be changed: not cancelled, not closed as a no-show. */
  private changeable(sessionId: string): { status: SessionStatus; plan: NonNullable<ReturnType<AssessmentService['plans']['plan']>> } {
    const plan = this.deps.assessment.plans.plan(sessionId);
    const status = this.statusOf(sessionId);
    if (!plan || !status) throw new ProtocolFailure('NOT_FOUND', 'no such booked session');
    if (status === 'cancelled') throw new ProtocolFailure('CONFLICT', 'this session was cancelled: it cannot be changed');
    if (status === 'no-show') throw new ProtocolFailure('CONFLICT', 'this session was closed as a no-show: book the candidate again instead');
    return { status, plan };
  }

  private statusOf(sessionId: string): SessionStatus | null {
    if (!this.deps.sessions.getSession(sessionId)) return null;
    const closure = this.deps.sessions.closure(sessionId);
    return sessionStatus(closure.cancelledAt, closure.noShowAt, this.deps.assessment.dayState(sessionId)?.status ?? null);
  }

  /** The organisation's sessions with a planned day, by start. */
  private booked(organisationId: string): Booked[] {
    const sources = this.deps.db
      .prepare(
        `SELECT s.id, s.title, s.level, s.cancelled_at, s.cancel_reason, s.no_show_at, p.template, p.adjustments, p.retake_element,
                p.scheduled_start, d.status AS day_status, d.phases AS day_phases
         FROM sessions s JOIN session_plans p ON p.session_id = s.id LEFT JOIN assessment_days d ON d.session_id = s.id
         WHERE s.organisation_id = ? AND p.scheduled_start IS NOT NULL ORDER BY p.scheduled_start, s.rowid`,
      )
      .all(organisationId) as unknown as CalendarSource[];
    const people = new Map<string, CalendarPerson[]>();
    const rows = this.deps.db
      .prepare(
        `SELECT p.id, p.session_id, p.role, p.display_name, p.person_id FROM participants p JOIN sessions s ON s.id = p.session_id
         WHERE s.organisation_id = ? AND p.replaced_at IS NULL ORDER BY p.created_at, p.rowid`,
      )
      .all(organisationId) as Array<{ id: string; session_id: string; role: Role; display_name: string; person_id: string | null }>;
    for (const r of rows) {
      const list = people.get(r.session_id) ?? [];
      list.push({ participantId: r.id, personId: r.person_id, displayName: r.display_name, role: r.role });
      people.set(r.session_id, list);
    }
    return sources.map((source) => {
      const template = JSON.parse(source.template) as Template;
      const phases: PhaseSpec[] = source.day_phases
        ? (JSON.parse(source.day_phases) as PhaseSpec[])
        : plannedPhases(template, JSON.parse(source.adjustments) as Adjustments);
      const length = phases.reduce((sum, p) => sum + p.durationSeconds, 0) * 1000;
      return {
        source,
        row: {
          sessionId: source.id,
          title: source.title,
          level: source.level,
          templateId: template.id,
          templateName: template.name,
          scheduledStart: source.scheduled_start,
          scheduledEnd: source.scheduled_start + length,
          status: sessionStatus(source.cancelled_at, source.no_show_at, source.day_status),
          dayStatus: source.day_status,
          people: people.get(source.id) ?? [],
        },
      };
    });
  }
}

function sessionStatus(cancelledAt: string | null, noShowAt: string | null, day: DayStatus | null): SessionStatus {
  if (cancelledAt) return 'cancelled';
  if (noShowAt) return 'no-show';
  if (day === 'running' || day === 'paused') return 'running';
  if (day === 'complete') return 'complete';
  if (day === 'stopped') return 'stopped';
  return 'scheduled';
}

const calendarPerson = (p: Participant): CalendarPerson => ({ participantId: p.id, personId: p.personId ?? null, displayName: p.displayName, role: p.role });

/** Per session: people booked into another session (still on) whose time overlaps this one. */
export function conflictsOf(rows: ReadonlyArray<Omit<CalendarRow, 'conflicts'>>): Map<string, Conflict[]> {
  const live = rows.filter((r) => !ENDED.has(r.status));
  const byPerson = new Map<string, Array<{ row: (typeof live)[number]; name: string }>>();
  for (const row of live) {
    const present = row.people.filter((p) => PRESENT_ALL_DAY.has(p.role));
    for (const person of new Set(present.map((p) => p.personId).filter((id): id is string => id !== null))) {
      const name = present.find((p) => p.personId === person)!.displayName;
      byPerson.set(person, [...(byPerson.get(person) ?? []), { row, name }]);
    }
  }
  const conflicts = new Map<string, Conflict[]>();
  for (const [personId, booked] of byPerson) {
    for (const a of booked) {
      for (const b of booked) {
        if (a.row.sessionId === b.row.sessionId) continue;
        if (a.row.scheduledStart < b.row.scheduledEnd && b.row.scheduledStart < a.row.scheduledEnd) {
          const list = conflicts.get(a.row.sessionId) ?? [];
          list.push({ personId, displayName: a.name, otherSessionId: b.row.sessionId, otherTitle: b.row.title, otherStart: b.row.scheduledStart });
          conflicts.set(a.row.sessionId, list);
        }
      }
    }
  }
  return conflicts;
}
