// Observer calibration: coordinators make cases of consented, recorded scenarios of signed-off
// sessions (the scenario's final marks become the reference, copied then); observers of any
// session of the same organisation score a case once, independently, and then see how far they were from the reference
// and from their peers. Attempts feed observer stringency and the booking gate.
import {
  CALIBRATION_PASS_TOLERANCE,
  type CalibrationCaseSummary,
  type CalibrationCaseView,
  type CalibrationDomainResult,
  type CalibrationResult,
  type CalibrationSource,
  type CalibrationStatus,
  type CreateCalibrationCase,
  type CalibrationAttemptInput,
} from '../../shared/calibration.ts';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import { frameworkFor } from '../../shared/rubric.ts';
import type { RecordingRow } from '../../shared/api.ts';
import type { BookSession } from '../../shared/assessment.ts';
import type { PlansRepo } from '../assessment/plans-repo.ts';
import type { ScenarioBank } from '../assessment/scenario-bank.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { actingPerson, samePerson } from '../moderation/acting-person.ts';
import type { ModerationService } from '../moderation/moderation-service.ts';
import type { CalibrationRepo, StoredAttempt, StoredCase } from './calibration-repo.ts';

export interface CalibrationDeps {
  repo: CalibrationRepo;
  sessions: Pick<SessionsRepo, 'listSessions' | 'listParticipants' | 'getSession' | 'organisationOf'>;
  plans: Pick<PlansRepo, 'plan' | 'slots'>;
  bank: Pick<ScenarioBank, 'get'>;
  moderation: Pick<ModerationService, 'facts' | 'repo'>;
  recordings: () => { list(sessionId: string): RecordingRow[]; get(id: string): (RecordingRow & { file: string }) | undefined };
  audit: AuditRepo;
  /** The organisation a participant acts in (a desk's too: see ParticipantAuth.organisationOf). */
  organisationOf: (viewer: Participant) => string | undefined;
  /** SIMSTUDIO_REQUIRE_CALIBRATION: booking refuses observers without a passed attempt. */
  required: boolean;
  now?: () => Date;
}

const OBSERVING_ROLES: ReadonlySet<Participant['role']> = new Set(['observer', 'leadObserver']);
/** Recordings a case shows: the server's finished recordings of the people on stage. Never the
 *  lead observer's backup (a capture of their page, which names the candidate). */
const PLAYABLE: ReadonlySet<RecordingRow['status']> = new Set(['complete', 'interrupted']);
const ROLE_LABEL: Partial<Record<Participant['role'], string>> = { candidate: 'Candidate', actor: 'Actor' };

/** An attempt against the reference and against the mean of the other observers' attempts. */
export function compareAttempt(
  reference: Record<string, number>,
  titles: Map<string, string>,
  mine: StoredAttempt,
  others: StoredAttempt[],
): CalibrationResult {
  const domains: CalibrationDomainResult[] = Object.entries(reference).map(([itemId, ref]) => {
    const rating = mine.ratings[itemId]!;
    const peerRatings = others.map((o) => o.ratings[itemId]).filter((r): r is number => r !== undefined);
    const peerMean = peerRatings.length ? peerRatings.reduce((a, b) => a + b, 0) / peerRatings.length : null;
    return {
      itemId,
      title: titles.get(itemId) ?? itemId,
      rating,
      reference: ref,
      fromReference: rating - ref,
      peerMean,
      fromPeers: peerMean === null ? null : rating - peerMean,
      withinTolerance: Math.abs(rating - ref) <= CALIBRATION_PASS_TOLERANCE,
    };
  });
  return { submittedAt: mine.submittedAt, global: mine.global, passed: mine.passed, tolerance: CALIBRATION_PASS_TOLERANCE, peers: others.length, domains };
}

export class CalibrationService {
  private readonly deps: CalibrationDeps;
  private readonly now: () => Date;

  constructor(deps: CalibrationDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
  }

  // ---- coordinators ----

  /** Recorded scenarios of the coordinator's organisation's signed-off sessions, newest first. */
  sources(coordinator: Participant): CalibrationSource[] {
    const out: CalibrationSource[] = [];
    const organisationId = this.organisationOf(coordinator);
    // Without an organisation, nothing (listSessions would give every organisation's).
    if (organisationId === undefined) return out;
    for (const session of this.deps.sessions.listSessions(organisationId)) {
      if (this.deps.moderation.repo.status(session.id) !== 'signedOff') continue;
      const recordings = this.playable(session.id);
      const plan = this.deps.plans.plan(session.id);
      for (let scenario = 1; scenario <= 3; scenario++) {
        const count = recordings.filter((r) => r.scenarioKey === String(scenario)).length;
        if (count === 0) continue;
        out.push({
          sessionId: session.id,
          sessionTitle: session.title,
          scheduledStart: plan?.scheduledStart ?? null,
          scenario,
          scenarioTitle: this.scenarioTitle(session.id, scenario),
          recordings: count,
          caseId: this.deps.repo.caseFor(session.id, scenario)?.id ?? null,
        });
      }
    }
    return out.sort((a, b) => (b.scheduledStart ?? 0) - (a.scheduledStart ?? 0) || a.scenario - b.scenario);
  }

  createCase(coordinator: Participant, input: CreateCalibrationCase): StoredCase {
    const { sessionId, scenario } = input;
    const session = this.deps.sessions.getSession(sessionId);
    // Another organisation's session is as absent as one that does not exist.
    if (!session || !this.inOrganisationOf(coordinator, sessionId)) throw new ProtocolFailure('NOT_FOUND', 'no such session');
    const facts = this.deps.moderation.facts(sessionId);
    if (this.deps.moderation.repo.status(sessionId) !== 'signedOff') throw new ProtocolFailure('CONFLICT', 'only a signed-off result can be a calibration case: its marks are final');
    if (!this.playable(sessionId).some((r) => r.scenarioKey === String(scenario))) {
      throw new ProtocolFailure('CONFLICT', `scenario ${scenario} of this session has no recording to watch`);
    }
    if (this.deps.repo.caseFor(sessionId, scenario)) throw new ProtocolFailure('CONFLICT', `scenario ${scenario} of this session is already a calibration case`);
    const rows = facts.rows.filter((r) => r.part === scenario);
    if (rows.length === 0 || rows.some((r) => r.final === null)) throw new ProtocolFailure('CONFLICT', `scenario ${scenario} has no final mark for every scored domain`);
    const reference = Object.fromEntries(rows.map((r) => [r.itemId, r.final!]));
    const made = this.deps.repo.createCase(
      {
        sessionId,
        scenario,
        title: `${this.scenarioTitle(sessionId, scenario)} (scenario ${scenario})`,
        level: session.level,
        reference,
        createdByParticipantId: coordinator.id,
        createdByName: coordinator.displayName,
      },
      this.now(),
    );
    this.deps.audit.append({
      sessionId,
      actor: actingPerson(coordinator),
      action: 'calibration.caseCreated',
      detail: { caseId: made.id, scenario, reference, consent: { candidate: true, actor: true, confirmedBy: coordinator.displayName, at: made.createdAt } },
    });
    return made;
  }

  // ---- everyone who may see cases ----

  list(viewer: Participant): CalibrationCaseSummary[] {
    const coordinator = viewer.role === 'coordinator';
    return this.deps.repo.cases().filter((c) => this.inOrganisationOf(viewer, c.sessionId)).map((c) => ({
      id: c.id,
      title: c.title,
      createdAt: c.createdAt,
      domains: Object.keys(c.reference).length,
      status: coordinator ? 'open' : this.statusFor(c, viewer),
      ...(coordinator ? { attempts: this.deps.repo.attempts(c.id).length } : {}),
    }));
  }

  /** An observer's view of a case: the reference and peers only in `result`, once submitted. */
  view(viewer: Participant, caseId: string): CalibrationCaseView {
    const c = this.caseOrThrow(caseId, viewer);
    this.assertMayView(c, viewer);
    const status = this.statusFor(c, viewer);
    const participants = this.deps.sessions.listParticipants(c.sessionId);
    const recordings = this.playable(c.sessionId)
      .filter((r) => r.scenarioKey === String(c.scenario))
      .map((r) => ({
        id: r.id,
        label: ROLE_LABEL[participants.find((p) => p.id === r.participantId)?.role ?? 'candidate'] ?? 'Participant',
        offsetMs: r.startedAt - r.phaseStartedAt,
        durationMs: r.durationMs,
      }));
    const framework = frameworkFor(c.level);
    this.deps.audit.append({ actor: actingPerson(viewer), action: 'calibration.caseViewed', detail: { caseId } });
    return {
      id: c.id,
      title: c.title,
      status,
      domains: this.domainsOf(c),
      scale: framework.scale,
      globalScale: framework.globalScale,
      recordings,
      result: status === 'submitted' ? this.resultFor(c, viewer.displayName) : null,
    };
  }

  /** The recording file of a case, for anyone who may view the case. */
  recordingFile(viewer: Participant, caseId: string, recordingId: string): string {
    const c = this.caseOrThrow(caseId, viewer);
    this.assertMayView(c, viewer);
    const recording = this.deps.recordings().get(recordingId);
    if (!recording || recording.sessionId !== c.sessionId || recording.scenarioKey !== String(c.scenario) || !PLAYABLE.has(recording.status)) {
      throw new ProtocolFailure('NOT_FOUND', 'no such recording in this calibration case');
    }
    return recording.file;
  }

  submit(observer: Participant, caseId: string, input: CalibrationAttemptInput): CalibrationResult {
    if (!OBSERVING_ROLES.has(observer.role)) throw new ProtocolFailure('FORBIDDEN', 'only observers score calibration cases');
    const c = this.caseOrThrow(caseId, observer);
    if (this.observedLive(c, observer)) throw new ProtocolFailure('FORBIDDEN', 'you observed this session live, so it cannot calibrate you');
    const wanted = Object.keys(c.reference);
    const given = Object.keys(input.ratings);
    const missing = wanted.filter((id) => !given.includes(id));
    const unknown = given.filter((id) => !wanted.includes(id));
    if (missing.length || unknown.length) {
      const titles = new Map(this.domainsOf(c).map((d) => [d.id, d.title]));
      throw new ProtocolFailure(
        'INVALID_PAYLOAD',
        `ratings: rate every scored domain${missing.length ? ` (not rated: ${missing.map((id) => titles.get(id) ?? id).join(', ')})` : ''}${unknown.length ? ` (not scored in this case: ${unknown.join(', ')})` : ''}`,
      );
    }
    const ratings = Object.fromEntries(wanted.map((id) => [id, input.ratings[id]!]));
    const passed = wanted.every((id) => Math.abs(ratings[id]! - c.reference[id]!) <= CALIBRATION_PASS_TOLERANCE);
    const saved = this.deps.repo.saveAttempt({
      caseId,
      observerName: observer.displayName,
      participantId: observer.id,
      ratings,
      global: input.global,
      passed,
      submittedAt: this.now().toISOString(),
    });
    if (!saved) throw new ProtocolFailure('CONFLICT', 'you have already submitted this calibration case; an attempt is submitted once');
    this.deps.audit.append({ actor: actingPerson(observer), action: 'calibration.submitted', detail: { caseId, ratings, global: input.global, passed } });
    return this.resultFor(c, observer.displayName);
  }

  // ---- the booking gate ----

  /** With calibration required, refuses a booking naming an observer or lead observer who has
   *  not passed a calibration case of the organisation (by name, like every person until accounts exist). */
  assertObserversCalibrated(booking: Pick<BookSession, 'leadObserver' | 'observers'>, organisationId?: string): void {
    if (!this.deps.required) return;
    const people = [
      { name: booking.leadObserver.displayName, role: 'lead observer' },
      ...booking.observers.map((o) => ({ name: o.displayName, role: 'observer' })),
    ];
    const uncalibrated = people.filter((p) => !this.deps.repo.hasPassed(p.name, organisationId));
    if (uncalibrated.length) {
      throw new ProtocolFailure(
        'CONFLICT',
        `calibration is required before observing live: ${uncalibrated.map((p) => `${p.name} (${p.role})`).join(', ')} ${uncalibrated.length === 1 ? 'has' : 'have'} not passed a calibration case (every domain within ${CALIBRATION_PASS_TOLERANCE} point of the reference)`,
      );
    }
  }

  // ---- helpers ----

  private playable(sessionId: string): RecordingRow[] {
    return this.deps.recordings().list(sessionId).filter((r) => PLAYABLE.has(r.status));
  }

  private scenarioTitle(sessionId: string, scenario: number): string {
    const slot = this.deps.plans.slots(sessionId).find((s) => s.number === scenario);
    return (slot && this.deps.bank.get(slot.scenarioId, this.deps.sessions.organisationOf(sessionId))?.title) || `Scenario ${scenario}`;
  }

  /** A case of the viewer's organisation (cases are made of sessions, which belong to one). */
  private caseOrThrow(caseId: string, viewer: Participant): StoredCase {
    const c = this.deps.repo.getCase(caseId);
    if (!c || !this.inOrganisationOf(viewer, c.sessionId)) throw new ProtocolFailure('NOT_FOUND', 'no such calibration case');
    return c;
  }

  private organisationOf(viewer: Participant): string | undefined {
    return this.deps.organisationOf(viewer);
  }

  private inOrganisationOf(viewer: Participant, sessionId: string): boolean {
    const theirs = this.deps.sessions.organisationOf(sessionId);
    return theirs !== undefined && theirs === this.organisationOf(viewer);
  }

  private domainsOf(c: StoredCase): Array<{ id: string; title: string }> {
    const framework = frameworkFor(c.level);
    return Object.keys(c.reference).map((id) => {
      const d = framework.domains.find((x) => x.id === id);
      return { id, title: d ? `${d.number}. ${d.title}` : id };
    });
  }

  /** An observer of the source session saw it live and scored it: it cannot calibrate them. */
  private observedLive(c: StoredCase, viewer: Participant): boolean {
    const me = actingPerson(viewer);
    return this.deps.sessions
      .listParticipants(c.sessionId)
      .filter((p) => OBSERVING_ROLES.has(p.role))
      .some((p) => samePerson(actingPerson(p), me));
  }

  private statusFor(c: StoredCase, viewer: Participant): CalibrationStatus {
    if (this.deps.repo.attempt(c.id, viewer.displayName)) return 'submitted';
    if (OBSERVING_ROLES.has(viewer.role) && this.observedLive(c, viewer)) return 'observedLive';
    return 'open';
  }

  private assertMayView(c: StoredCase, viewer: Participant): void {
    if (viewer.role === 'coordinator') return;
    if (!OBSERVING_ROLES.has(viewer.role)) throw new ProtocolFailure('FORBIDDEN', `a ${viewer.role} may not watch calibration cases`);
    if (this.statusFor(c, viewer) === 'observedLive') throw new ProtocolFailure('FORBIDDEN', 'you observed this session live, so it cannot calibrate you');
  }

  private resultFor(c: StoredCase, observerName: string): CalibrationResult {
    const mine = this.deps.repo.attempt(c.id, observerName);
    if (!mine) throw new ProtocolFailure('NOT_FOUND', 'no attempt of yours on this case');
    const others = this.deps.repo.attempts(c.id).filter((a) => !samePerson({ participantId: a.participantId, name: a.observerName }, { participantId: mine.participantId, name: mine.observerName }));
    const titles = new Map(this.domainsOf(c).map((d) => [d.id, d.title]));
    return compareAttempt(c.reference, titles, mine, others);
  }
}
