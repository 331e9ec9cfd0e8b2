// The assessment day's application layer: booking a session (participants, scenario draw,
// plan, day), the day as each client sees it, who is on stage in each phase, and which
// scenario content each participant may read.
import { EventEmitter } from 'node:events';
import {
  assessedElements,
  characterNameOf,
  plannedPhases,
  startsInThePast,
  type Adjustments,
  type BookSession,
  type ContentKind,
  type DayControl,
  type DayState,
  type SessionOverview,
} from '../../shared/assessment.ts';
import type { BoardAlert } from '../../shared/api.ts';
import type { NewSession, Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import { ELEMENT_LABELS, type Element } from '../../shared/moderation.ts';
import { HIDDEN_ROLES, defaultStage, type Role, type Stage } from '../../shared/roles.ts';
import { frameworkFor } from '../../shared/rubric.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { transaction, type Database } from '../db/database.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { Logger } from '../log.ts';
import type { DayRecord } from './day-machine.ts';
import { DayRunner } from './day-runner.ts';
import { DrawError, drawScenarios } from './draw.ts';
import { PlansRepo } from './plans-repo.ts';
import type { ScenarioBank } from './scenario-bank.ts';
import type { TemplatesRepo } from './templates-repo.ts';

/** For a written exercise after a scenario whose bank entry has no prompt of its own. */
export const DEFAULT_WRITTEN_EXERCISE_PROMPT = `### Written exercise

Based on what you have heard in the scenarios so far, write:

- **Case notes**: a clear, factual record of the two meetings.
- **Risk assessment**: the risks and strengths you have identified, and your analysis of them.
- **Decisions and next steps**: what you have decided or would recommend, and why.
- **Aims and objectives** for your next meeting in this case.`;

interface ServiceEvents {
  /** The day changed: its new state and the stage that follows from it. */
  dayChanged: [sessionId: string, state: DayState, stage: Stage];
  /** Someone stopped the day early (heard once, on the node that stored it). */
  dayStopped: [sessionId: string];
  /** A booking committed (issue 15: notifications follow it). */
  booked: [sessionId: string, organisationId: string];
}

export class AssessmentService extends EventEmitter<ServiceEvents> {
  readonly plans: PlansRepo;
  private readonly runner: DayRunner;
  private readonly db: Database;
  private readonly sessions: SessionsRepo;
  private readonly bank: ScenarioBank;
  private readonly templates: TemplatesRepo;
  private readonly audit: AuditRepo;
  private readonly now: () => number;
  /** Refuses a retake the earlier result does not allow (set by the moderation service,
   *  which owns results; without it no retake can be booked). */
  retakeEligibility: (retake: { of: string; element: Element }, candidateRef: string) => void = () => {
    throw new ProtocolFailure('CONFLICT', 'retakes cannot be booked: results are not available');
  };

  constructor(
    deps: { db: Database; sessions: SessionsRepo; bank: ScenarioBank; templates: TemplatesRepo; audit: AuditRepo; log: Logger },
    now: () => number = Date.now,
  ) {
    super();
    this.db = deps.db;
    this.sessions = deps.sessions;
    this.bank = deps.bank;
    this.templates = deps.templates;
    this.audit = deps.audit;
    this.now = now;
    this.plans = new PlansRepo(deps.db);
    this.runner = new DayRunner(this.plans, deps.audit, deps.log, now);
    this.runner.on('changed', (record) => this.emit('dayChanged', record.sessionId, this.toState(record), this.stageFor(record.sessionId)));
  }

  /** Seeds the bank and templates on first start and resumes every running day. */
  start(): void {
    this.bank.seedIfEmpty();
    this.templates.seedIfEmpty();
    this.runner.restore();
  }

  close(): void {
    this.runner.close();
  }

  /** With several nodes: which sessions' timers this node applies (DayRunner.gateTimers). */
  gateDayTimers(timersHere: (sessionId: string) => boolean): void {
    this.runner.gateTimers(timersHere);
  }

  /** Another studio process changed this session's day (see PlansRepo.announce). */
  dayChangedElsewhere(sessionId: string): void {
    this.runner.refresh(sessionId);
  }

  /** Every day this process holds, read again (notifications from other processes may be lost). */
  resyncDays(): void {
    this.runner.refreshAll();
  }

  /** Books a session: participants, a random scenario draw (avoiding scenarios the candidate
   *  has sat), the plan with adjustments, and a waiting day. All or nothing.
   *  `organisationId`: whose session it is (the booking coordinator's organisation; the
   *  default one if not given); its templates and scenario bank are the ones used.
   *  `bookedBy`: the participant (or staff desk) who books it, named in the audit row. */
  book(input: BookSession, random: () => number = Math.random, organisationId?: string, bookedBy?: string): { sessionId: string; participants: Participant[] } {
    const organisation = organisationId ?? this.sessions.defaultOrganisation();
    const booked = this.bookInTransaction(input, random, organisation, bookedBy);
    // Announced once stored; inside a caller's transaction this is before its commit (callers
    // that book in their own transaction are offline tools with nobody listening).
    if (!this.db.isTransaction) this.emit('booked', booked.sessionId, organisation);
    return booked;
  }

  private bookInTransaction(input: BookSession, random: () => number, organisation: string, bookedBy?: string): { sessionId: string; participants: Participant[] } {
    if (startsInThePast(input.scheduledStart, this.now())) {
      throw new ProtocolFailure('INVALID_PAYLOAD', 'scheduledStart: this time has already passed: choose a time from now on');
    }
    const template = this.templates.latest(input.templateId, organisation);
    if (!template) throw new ProtocolFailure('NOT_FOUND', `no template "${input.templateId}"`);
    const retake = input.retake ?? null;
    if (retake && !assessedElements(template).includes(retake.element)) {
      throw new ProtocolFailure('INVALID_PAYLOAD', `template "${template.name}" does not assess the ${ELEMENT_LABELS[retake.element].toLowerCase()}`);
    }
    // A written-exercise retake runs the briefings and the written exercise, no scenarios.
    const runsScenarios = retake?.element !== 'written';
    const assigned = input.actors.flatMap((a) => a.scenarios).sort();
    const expected = runsScenarios ? Array.from({ length: template.scenarioCount }, (_, i) => i + 1) : [];
    if (assigned.join() !== expected.join()) {
      throw new ProtocolFailure(
        'INVALID_PAYLOAD',
        runsScenarios
          ? `assign exactly one actor to each of scenarios ${expected.join(', ')}`
          : 'a written-exercise retake runs no scenarios: leave the actors out',
      );
    }
    return transaction(this.db, () => {
      if (retake) this.retakeEligibility(retake, input.candidate.candidateRef);
      // Never a scenario the candidate sat, nor one drawn for a session of theirs still to come.
      const sat = new Set([
        ...this.plans.scenariosSatBy(input.candidate.candidateRef, organisation),
        ...this.plans.scenariosReservedFor(input.candidate.candidateRef, organisation),
      ]);
      let drawn;
      try {
        drawn = drawScenarios(this.bank.list(undefined, organisation), template.level, template.scenarioCount, sat, random);
      } catch (error) {
        if (error instanceof DrawError) throw new ProtocolFailure('CONFLICT', error.message);
        throw error;
      }
      const place = <R extends Role>(role: R, p: { displayName: string; personId?: string | undefined }) => ({
        role,
        displayName: p.displayName,
        ...(p.personId ? { personId: p.personId } : {}),
      });
      const people: NewSession['participants'] = [
        { ...place('candidate', input.candidate), candidateRef: input.candidate.candidateRef },
        ...input.actors.map((a) => place('actor', a)),
        place('leadObserver', input.leadObserver),
        ...input.observers.map((o) => place('observer', o)),
        ...(input.moderator ? [place('moderator', input.moderator)] : []),
        place('coordinator', input.coordinator),
        ...(input.analyst ? [place('analyst', input.analyst)] : []),
      ];
      const { session, participants } = this.sessions.create({
        title: input.title,
        level: template.level,
        participants: people,
        organisationId: organisation,
      });
      const actors = participants.filter((p) => p.role === 'actor');
      this.plans.savePlan({
        sessionId: session.id,
        template,
        adjustments: input.adjustments,
        scheduledStart: Date.parse(input.scheduledStart),
        candidateRef: input.candidate.candidateRef,
        employer: input.employer ?? null,
        retake,
      });
      const slots = drawn.map((scenario, i) => ({
        number: i + 1,
        scenarioId: scenario.id,
        actorParticipantId: actors[input.actors.findIndex((a) => a.scenarios.includes(i + 1))]?.id ?? null,
      }));
      this.plans.saveSlots(session.id, slots);
      this.runner.create(session.id, plannedPhases(template, input.adjustments, retake?.element ?? null));
      this.audit.append({
        sessionId: session.id,
        ...(bookedBy ? { actorParticipantId: bookedBy } : { job: 'booking tool' }),
        action: 'session.booked',
        detail: {
          template: `${template.id}@${template.version}`,
          draw: slots.map((s) => s.scenarioId),
          adjustments: input.adjustments,
          employerConsent: input.employer ? { employer: input.employer.name, consent: input.employer.consent } : null,
          retake,
        },
      });
      return { sessionId: session.id, participants };
    });
  }

  /** Records the candidate as on stage when a scenario is running and they are connected
   *  (called on every day change and whenever someone joins the room): what makes a scenario
   *  "sat" (issue 15). Returns the scenario recorded, if any. */
  noteOnStage(sessionId: string, connected: (participantId: string) => boolean): number | null {
    const record = this.runner.get(sessionId);
    if (!record || (record.status !== 'running' && record.status !== 'paused')) return null;
    const phase = record.phases[record.phaseIndex];
    if (phase?.kind !== 'scenario' || phase.scenario === undefined) return null;
    const candidates = this.sessions.listParticipants(sessionId).filter((p) => p.role === 'candidate' && connected(p.id));
    for (const candidate of candidates) this.plans.recordOnStage(sessionId, phase.scenario, candidate.id, this.now());
    return candidates.length > 0 ? phase.scenario : null;
  }

  /** Announces the day again (its people or schedule changed: the stage and every client follow). */
  restage(sessionId: string): void {
    const record = this.runner.get(sessionId);
    if (record) this.emit('dayChanged', sessionId, this.toState(record), this.stageFor(sessionId));
  }

  /** New adjustments for a day that has not started: the plan and the day's phases change
   *  together with `audit` (one transaction), then the day is announced. */
  changeAdjustments(sessionId: string, adjustments: Adjustments, audit: () => void): void {
    const plan = this.plans.plan(sessionId);
    if (!plan) throw new ProtocolFailure('NOT_FOUND', 'this session has no plan');
    const phases = plannedPhases(plan.template, adjustments, plan.retake?.element ?? null);
    this.runner.replan(sessionId, phases, () => {
      this.plans.setAdjustments(sessionId, adjustments);
      audit();
    });
  }

  /** Faults of this session's day for the live board (a timed transition being retried). */
  alerts(sessionId: string): BoardAlert[] {
    return this.runner.alerts(sessionId);
  }

  dayState(sessionId: string): DayState | null {
    const record = this.runner.get(sessionId);
    return record ? this.toState(record) : null;
  }

  control(actor: Participant, control: DayControl): DayState {
    if (actor.role !== 'leadObserver' && actor.role !== 'coordinator') {
      throw new ProtocolFailure('FORBIDDEN', 'only the lead observer or a coordinator runs the day');
    }
    if (!this.runner.get(actor.sessionId)) throw new ProtocolFailure('NOT_FOUND', 'this session has no assessment day');
    const state = this.toState(this.runner.control(actor.sessionId, actor, control));
    if (control.action === 'stop') this.emit('dayStopped', actor.sessionId);
    return state;
  }

  /** Who is on stage now. Sessions without a day are an open room: candidates and actors. */
  stageFor(sessionId: string): Stage {
    const participants = this.sessions.listParticipants(sessionId);
    const record = this.runner.get(sessionId);
    if (!record) return defaultStage(participants);
    const phase = record.status === 'running' || record.status === 'paused' ? record.phases[record.phaseIndex] : undefined;
    const candidate = participants.filter((p) => p.role === 'candidate').map((p) => p.id);
    if (phase?.kind === 'scenario') {
      const actor = this.plans.slots(sessionId).find((s) => s.number === phase.scenario)?.actorParticipantId;
      return new Set([...candidate, ...(actor ? [actor] : [])]);
    }
    if (phase?.kind === 'reflectiveConversation') {
      return new Set([...candidate, ...participants.filter((p) => p.role === 'leadObserver').map((p) => p.id)]);
    }
    return new Set();
  }

  overview(viewer: Participant): SessionOverview {
    const session = this.sessions.getSession(viewer.sessionId);
    if (!session) throw new ProtocolFailure('NOT_FOUND', 'session not found');
    const plan = this.plans.plan(viewer.sessionId);
    const hidden = HIDDEN_ROLES.has(viewer.role);
    const organisation = this.sessions.organisationOf(viewer.sessionId);
    const scenarios = this.plans.slots(viewer.sessionId).map((slot) => {
      const scenario = this.bank.get(slot.scenarioId, organisation);
      const available = (['candidateBriefing', 'actorBrief', 'observerGuidance', 'writtenExercisePrompt'] as const).filter(
        (kind) => this.mayRead(viewer, slot.number, kind) && (kind !== 'writtenExercisePrompt' || this.writtenExerciseFollows(viewer.sessionId, slot.number)),
      );
      const ownActor = viewer.role === 'actor' && slot.actorParticipantId === viewer.id;
      return {
        number: slot.number,
        title: hidden || ownActor || available.includes('candidateBriefing') ? (scenario?.title ?? null) : null,
        character: hidden || ownActor ? (scenario?.character ?? null) : null,
        characterName:
          scenario?.character && (hidden || ownActor || available.includes('candidateBriefing')) ? characterNameOf(scenario.character) : null,
        actorParticipantId: hidden ? slot.actorParticipantId : null,
        available,
      };
    });
    return {
      sessionId: session.id,
      title: session.title,
      templateName: plan?.template.name ?? null,
      practice: plan?.template.practice ?? false,
      scoredDomains: plan?.template.scoredDomains ?? frameworkFor(session.level).defaultScoredDomains,
      // An actor learns only of the scenarios they play.
      scenarios: viewer.role === 'actor' ? scenarios.filter((s) => s.available.length > 0) : scenarios,
    };
  }

  /** Returns one piece of scenario content as markdown, or refuses (FORBIDDEN / NOT_FOUND). */
  content(viewer: Participant, sessionId: string, number: number, kind: ContentKind): string {
    if (viewer.sessionId !== sessionId) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
    const slot = this.plans.slots(sessionId).find((s) => s.number === number);
    if (!slot) throw new ProtocolFailure('NOT_FOUND', `this session has no scenario ${number}`);
    if (!this.mayRead(viewer, number, kind)) {
      throw new ProtocolFailure('FORBIDDEN', `a ${viewer.role} may not read this ${kind} ${kind === 'candidateBriefing' ? 'yet' : ''}`.trim());
    }
    const scenario = this.bank.get(slot.scenarioId, this.sessions.organisationOf(sessionId));
    const text = scenario?.[kind] ?? (kind === 'writtenExercisePrompt' ? DEFAULT_WRITTEN_EXERCISE_PROMPT : null);
    if (!text) throw new ProtocolFailure('NOT_FOUND', `scenario ${number} has no ${kind}`);
    return text;
  }

  /**
   * Observers, moderators and coordinators read everything; an actor only the brief of a
   * scenario they play; a candidate only candidate briefings (from that briefing's start)
   * and the written exercise prompt (from that phase's start).
   */
  private mayRead(viewer: Participant, number: number, kind: ContentKind): boolean {
    if (HIDDEN_ROLES.has(viewer.role)) return true;
    if (viewer.role === 'actor') {
      const slot = this.plans.slots(viewer.sessionId).find((s) => s.number === number);
      return kind === 'actorBrief' && slot?.actorParticipantId === viewer.id;
    }
    if (viewer.role !== 'candidate') return false;
    const record = this.runner.get(viewer.sessionId);
    if (!record || record.phaseIndex < 0) return false;
    const reached = record.phases.slice(0, record.phaseIndex + 1);
    if (kind === 'candidateBriefing') return reached.some((p) => p.kind === 'briefing' && p.scenario === number);
    if (kind === 'writtenExercisePrompt') {
      // The prompt belongs to the scenario just before the written exercise, from its start.
      const index = record.phases.findIndex((p) => p.kind === 'writtenExercise');
      return index >= 0 && index <= record.phaseIndex && this.writtenExerciseFollows(viewer.sessionId, number);
    }
    return false;
  }

  /** Whether the day's written exercise comes straight after this scenario. */
  private writtenExerciseFollows(sessionId: string, number: number): boolean {
    const phases = this.runner.get(sessionId)?.phases ?? [];
    const index = phases.findIndex((p) => p.kind === 'writtenExercise');
    return index >= 0 && phases.slice(0, index).filter((p) => p.kind === 'scenario').at(-1)?.scenario === number;
  }

  private toState(record: DayRecord): DayState {
    return {
      sessionId: record.sessionId,
      status: record.status,
      scheduledStart: this.plans.plan(record.sessionId)?.scheduledStart ?? null,
      phases: record.phases,
      phaseIndex: record.phaseIndex,
      phaseStartedAt: record.phaseStartedAt,
      deadline: record.deadline,
      pausedAt: record.pausedAt,
      serverNow: this.now(),
    };
  }
}
