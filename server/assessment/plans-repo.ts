// Each planned session's template copy, adjustments and scenario draw, and the persisted
// state of its assessment day (written on every transition, so a restart resumes it).
import type { Adjustments, DayStatus, PhaseSpec, Template } from '../../shared/assessment.ts';
import type { Element } from '../../shared/moderation.ts';
import { transaction, type Database } from '../db/database.ts';
import { engineOf } from '../db/engine.ts';
import type { DayRecord } from './day-machine.ts';

export interface SessionPlan {
  sessionId: string;
  template: Template;
  adjustments: Adjustments;
  scheduledStart: number | null;
  candidateRef: string | null;
  /** The candidate's employer and whether the candidate consented to it receiving a summary. */
  employer: { name: string; consent: boolean } | null;
  retake: { of: string; element: Element } | null;
}

interface PlanRow {
  session_id: string;
  template: string;
  adjustments: string;
  scheduled_start: number | null;
  candidate_ref: string | null;
  employer_name: string | null;
  employer_consent: number;
  retake_of: string | null;
  retake_element: Element | null;
}

/** The PostgreSQL channel on which a stored change of a day is announced (its session id). */
export const DAY_CHANGED_CHANNEL = 'simstudio_day_changed';

const toPlan = (row: PlanRow): SessionPlan => ({
  sessionId: row.session_id,
  template: JSON.parse(row.template) as Template,
  adjustments: JSON.parse(row.adjustments) as Adjustments,
  scheduledStart: row.scheduled_start,
  candidateRef: row.candidate_ref,
  employer: row.employer_name === null ? null : { name: row.employer_name, consent: row.employer_consent === 1 },
  retake: row.retake_of === null || row.retake_element === null ? null : { of: row.retake_of, element: row.retake_element },
});

export interface ScenarioSlot {
  number: number;
  scenarioId: string;
  actorParticipantId: string | null;
}

export class PlansRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  savePlan(plan: SessionPlan): void {
    this.db
      .prepare(
        `INSERT INTO session_plans (session_id, template, adjustments, scheduled_start, candidate_ref, employer_name, employer_consent, retake_of, retake_element)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        plan.sessionId,
        JSON.stringify(plan.template),
        JSON.stringify(plan.adjustments),
        plan.scheduledStart,
        plan.candidateRef,
        plan.employer?.name ?? null,
        plan.employer?.consent ? 1 : 0,
        plan.retake?.of ?? null,
        plan.retake?.element ?? null,
      );
  }

  plan(sessionId: string): SessionPlan | undefined {
    const row = this.db.prepare('SELECT * FROM session_plans WHERE session_id = ?').get(sessionId) as PlanRow | undefined;
    return row && toPlan(row);
  }

  /** Sessions booked as retakes of `sessionId`, with the element each retakes. */
  retakesOf(sessionId: string): Array<{ sessionId: string; element: Element }> {
    const rows = this.db.prepare('SELECT session_id, retake_element FROM session_plans WHERE retake_of = ?').all(sessionId) as Array<{
      session_id: string;
      retake_element: Element;
    }>;
    return rows.map((r) => ({ sessionId: r.session_id, element: r.retake_element }));
  }

  saveSlots(sessionId: string, slots: ScenarioSlot[]): void {
    const insert = this.db.prepare(
      'INSERT INTO session_scenarios (session_id, number, scenario_id, actor_participant_id) VALUES (?, ?, ?, ?)',
    );
    for (const slot of slots) insert.run(sessionId, slot.number, slot.scenarioId, slot.actorParticipantId);
  }

  slots(sessionId: string): ScenarioSlot[] {
    const rows = this.db
      .prepare('SELECT number, scenario_id, actor_participant_id FROM session_scenarios WHERE session_id = ? ORDER BY number')
      .all(sessionId) as Array<{ number: number; scenario_id: string; actor_participant_id: string | null }>;
    return rows.map((r) => ({ number: r.number, scenarioId: r.scenario_id, actorParticipantId: r.actor_participant_id }));
  }

  /** Every scenario this candidate (by their reference) has sat: been on stage in (issue 15;
   *  a scenario drawn for a session they never came to is not sat). In one organisation (a
   *  reference means nothing in another): without one, anywhere. */
  scenariosSatBy(candidateRef: string, organisationId?: string): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT s.scenario_id FROM session_scenarios s JOIN session_plans p ON p.session_id = s.session_id
         JOIN sessions x ON x.id = s.session_id
         JOIN scenario_attendance a ON a.session_id = s.session_id AND a.number = s.number
         JOIN participants c ON c.id = a.participant_id AND c.role = 'candidate'
         WHERE p.candidate_ref = ? AND (CAST(? AS TEXT) IS NULL OR x.organisation_id = ?)`,
      )
      .all(candidateRef, organisationId ?? null, organisationId ?? null) as Array<{ scenario_id: string }>;
    return new Set(rows.map((r) => r.scenario_id));
  }

  /** Scenarios drawn for this candidate's sessions still to come (not cancelled, not closed as
   *  a no-show, day neither complete nor stopped): a second booking must not draw them again. */
  scenariosReservedFor(candidateRef: string, organisationId: string): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT s.scenario_id FROM session_scenarios s JOIN session_plans p ON p.session_id = s.session_id
         JOIN sessions x ON x.id = s.session_id LEFT JOIN assessment_days d ON d.session_id = s.session_id
         WHERE p.candidate_ref = ? AND x.organisation_id = ? AND x.cancelled_at IS NULL AND x.no_show_at IS NULL
           AND (d.status IS NULL OR d.status NOT IN ('complete', 'stopped'))`,
      )
      .all(candidateRef, organisationId) as Array<{ scenario_id: string }>;
    return new Set(rows.map((r) => r.scenario_id));
  }

  /** Records that the candidate was on stage in this scenario (once; later calls keep the first time). */
  recordOnStage(sessionId: string, number: number, participantId: string, at: number): boolean {
    const result = this.db
      .prepare('INSERT INTO scenario_attendance (session_id, number, participant_id, on_stage_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(sessionId, number, participantId, new Date(at).toISOString());
    return Number(result.changes) > 0;
  }

  /** Scenario numbers of this session the candidate was on stage in. */
  scenariosAttended(sessionId: string): number[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT a.number FROM scenario_attendance a JOIN participants c ON c.id = a.participant_id AND c.role = 'candidate'
         WHERE a.session_id = ? ORDER BY a.number`,
      )
      .all(sessionId) as Array<{ number: number }>;
    return rows.map((r) => r.number);
  }

  setScheduledStart(sessionId: string, scheduledStart: number): void {
    this.db.prepare('UPDATE session_plans SET scheduled_start = ? WHERE session_id = ?').run(scheduledStart, sessionId);
  }

  setAdjustments(sessionId: string, adjustments: Adjustments): void {
    this.db.prepare('UPDATE session_plans SET adjustments = ? WHERE session_id = ?').run(JSON.stringify(adjustments), sessionId);
  }

  setCandidateRef(sessionId: string, candidateRef: string): void {
    this.db.prepare('UPDATE session_plans SET candidate_ref = ? WHERE session_id = ?').run(candidateRef, sessionId);
  }

  /** The scenarios one actor's place played now go to another place (a swapped actor). */
  moveActor(sessionId: string, fromParticipantId: string, toParticipantId: string): void {
    this.db.prepare('UPDATE session_scenarios SET actor_participant_id = ? WHERE session_id = ? AND actor_participant_id = ?').run(toParticipantId, sessionId, fromParticipantId);
  }

  /** Runs `fn` in one transaction: a day's transition and its audit rows are stored together
   *  or not at all, so a failed attempt can simply be retried (never half-applied). */
  atomically<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }

  saveDay(record: DayRecord): void {
    this.db
      .prepare(
        `INSERT INTO assessment_days (session_id, status, phases, phase_index, phase_started_at, deadline, paused_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(session_id) DO UPDATE SET status = excluded.status, phases = excluded.phases,
           phase_index = excluded.phase_index, phase_started_at = excluded.phase_started_at,
           deadline = excluded.deadline, paused_at = excluded.paused_at, updated_at = excluded.updated_at`,
      )
      .run(
        record.sessionId,
        record.status,
        JSON.stringify(record.phases),
        record.phaseIndex,
        record.phaseStartedAt,
        record.deadline,
        record.pausedAt,
        Date.now(),
      );
    this.announce(record.sessionId);
  }

  /**
   * Tells the other studio processes on this database that the day changed (PostgreSQL: a
   * NOTIFY, sent when the transaction commits). SQLite has no such thing; one process serves it.
   */
  private announce(sessionId: string): void {
    if (engineOf(this.db) === 'postgres') this.db.prepare('SELECT pg_notify(?, ?)').get(DAY_CHANGED_CHANNEL, sessionId);
  }

  /**
   * Stores `to` only if the stored day is still `from`, the state it was computed from; false
   * when another studio process (or node) has moved the day since. Two runners of one day then
   * store each transition once: the second finds the day moved and reads it again instead.
   * (The phases are not compared: they change only before the day starts, through saveDay.)
   */
  saveTransition(from: DayRecord, to: DayRecord): boolean {
    const { changes } = this.db
      .prepare(
        `UPDATE assessment_days SET status = ?, phases = ?, phase_index = ?, phase_started_at = ?, deadline = ?, paused_at = ?, updated_at = ?
         WHERE session_id = ? AND status = ? AND phase_index = ? AND phase_started_at IS NOT DISTINCT FROM ?
           AND deadline IS NOT DISTINCT FROM ? AND paused_at IS NOT DISTINCT FROM ?`,
      )
      .run(
        to.status,
        JSON.stringify(to.phases),
        to.phaseIndex,
        to.phaseStartedAt,
        to.deadline,
        to.pausedAt,
        Date.now(),
        from.sessionId,
        from.status,
        from.phaseIndex,
        from.phaseStartedAt,
        from.deadline,
        from.pausedAt,
      );
    if (Number(changes) !== 1) return false;
    this.announce(from.sessionId);
    return true;
  }

  /**
   * New phases for a day that has not started, stored only if the stored day is still `from`
   * and waiting; false when another studio process has started or replanned it since.
   */
  saveReplan(from: DayRecord, to: DayRecord): boolean {
    const { changes } = this.db
      .prepare(`UPDATE assessment_days SET phases = ?, updated_at = ? WHERE session_id = ? AND status = 'waiting' AND phases = ?`)
      .run(JSON.stringify(to.phases), Date.now(), from.sessionId, JSON.stringify(from.phases));
    if (Number(changes) !== 1) return false;
    this.announce(from.sessionId);
    return true;
  }

  day(sessionId: string): DayRecord | undefined {
    return this.readDays('SELECT * FROM assessment_days WHERE session_id = ?', sessionId)[0];
  }

  days(): DayRecord[] {
    return this.readDays('SELECT * FROM assessment_days');
  }

  private readDays(sql: string, ...params: string[]): DayRecord[] {
    const rows = this.db.prepare(sql).all(...params) as Array<{
      session_id: string;
      status: DayStatus;
      phases: string;
      phase_index: number;
      phase_started_at: number | null;
      deadline: number | null;
      paused_at: number | null;
    }>;
    return rows.map((r) => ({
      sessionId: r.session_id,
      status: r.status,
      phases: JSON.parse(r.phases) as PhaseSpec[],
      phaseIndex: r.phase_index,
      phaseStartedAt: r.phase_started_at,
      deadline: r.deadline,
      pausedAt: r.paused_at,
    }));
  }
}
