// Moderation and results: the moderator's queue, the moderation view, changing a mark with a
// rationale, signing the result off, independent reviews, and what the candidate may see.
// Every change is stored together with its audit entry in one transaction: all or nothing.
import type { RubricView } from '../collab/rubric-view.ts';
import { resultRules } from '../../shared/assessment.ts';
import { RoleSchema, type Participant, type Session } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import {
  DEFAULT_SAMPLING_RULE,
  type ActingPerson,
  ELEMENT_LABELS,
  partLabel,
  type AuditView,
  type CandidateResult,
  type ChangeMark,
  type DecideReview,
  type Element,
  type ElementResult,
  type MarkRow,
  type ModerationStatus,
  type ModerationView,
  type OpenReview,
  type Outcome,
  type QueueRow,
  type ReviewerOption,
  type SamplingRule,
  type SignOff,
  candidateReportPath,
} from '../../shared/moderation.ts';
import { SamplingRuleSchema } from '../../shared/moderation-schemas.ts';
import { ROLE_LABELS } from '../../shared/roles.ts';
import { frameworkFor } from '../../shared/rubric.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import { readEvidenceNotes } from '../collab/evidence-notes.ts';
import type { SessionPlan } from '../assessment/plans-repo.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { transaction, type Database } from '../db/database.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { Logger } from '../log.ts';
import { PeopleRepo } from '../people/people-repo.ts';
import type { WrittenExercise } from '../written/written-exercise.ts';
import { actingPerson, personLabel, samePerson } from './acting-person.ts';
import { globalJudgements, markItems, markRows, overallFeedback, resultsFromRows } from './marks.ts';
import { ModerationRepo, type ResultRow, type StoredReview } from './moderation-repo.ts';
import { sampled, samplingSettingKeys } from './sampling.ts';

/** What the observers' rubric may still change: everything before moderation; only the lead
 *  observer's narrative while a moderator works; nothing once signed off or under review. */
export type RubricLock = 'none' | 'ratings' | 'all';

export interface ModerationDeps {
  db: Database;
  sessions: SessionsRepo;
  assessment: AssessmentService;
  written: WrittenExercise;
  audit: AuditRepo;
  rubricDoc: (sessionId: string) => RubricView;
  recordedParts: (sessionId: string) => string[];
  log: Logger;
  now?: () => Date;
  /** Told after a sign-off has committed (the candidate is emailed that their result is ready). */
  resultSignedOff?: (sessionId: string) => void;
}

/** One session's moderation facts, loaded once per request. */
export interface SessionFacts {
  session: Session;
  plan: SessionPlan;
  participants: Participant[];
  /** The observers' rubric document, loaded once per request. */
  rubric: RubricView;
  candidate: Participant | undefined;
  dayComplete: boolean;
  /** Stopped early: no result is ever made of it. */
  dayStopped: boolean;
  stored: ResultRow | undefined;
  rows: MarkRow[];
  results: ElementResult[];
  status: ModerationStatus;
}

/** Moderation's audit actions (and what the view lists). */
const AUDIT_PREFIXES = ['moderation.', 'review.', 'report.'];

export class ModerationService {
  readonly repo: ModerationRepo;
  private readonly deps: ModerationDeps;
  private readonly now: () => Date;
  private readonly people: PeopleRepo;

  constructor(deps: ModerationDeps) {
    this.deps = deps;
    this.repo = new ModerationRepo(deps.db);
    this.people = new PeopleRepo(deps.db);
    this.now = deps.now ?? (() => new Date());
    deps.assessment.retakeEligibility = (retake, candidateRef) => this.assertRetakeAllowed(retake, candidateRef);
  }

  // ---- reading ----

  facts(sessionId: string): SessionFacts {
    const session = this.deps.sessions.getSession(sessionId);
    const plan = this.deps.assessment.plans.plan(sessionId);
    if (!session || !plan) throw new ProtocolFailure('NOT_FOUND', 'no such assessment session');
    if (plan.template.practice) throw new ProtocolFailure('NOT_FOUND', 'practice sessions are not scored or moderated');
    const participants = this.deps.sessions.listParticipants(sessionId);
    const stored = this.repo.result(sessionId);
    const moderated = this.repo.marks(sessionId).map((m) => ({ ...m, byName: this.person(m.byParticipantId)?.name ?? 'Moderator' }));
    const retakeOf = plan.retake?.element ?? null;
    const rubric = this.deps.rubricDoc(sessionId);
    const rows = markRows(markItems(plan.template, retakeOf), rubric, participants, moderated);
    const results = this.withCarriedOver(plan, resultsFromRows(plan.template, retakeOf, rows));
    return {
      session,
      plan,
      participants,
      rubric,
      candidate: participants.find((p) => p.role === 'candidate'),
      dayComplete: this.deps.assessment.dayState(sessionId)?.status === 'complete',
      dayStopped: this.deps.assessment.dayState(sessionId)?.status === 'stopped',
      stored,
      rows,
      results,
      status: statusOf(stored),
    };
  }

  /** The outcome that stands: the locked one once signed off (a review's decision replaces
   *  it), with the element a retake did not sit carried over from the session it retook. */
  standingOutcome(facts: Pick<SessionFacts, 'session'>): Partial<Record<Element, Outcome>> | null {
    return this.standingOf(facts.session.id, 0);
  }

  private standingOf(sessionId: string, depth: number): Partial<Record<Element, Outcome>> | null {
    const stored = this.repo.result(sessionId);
    if (stored?.status !== 'signedOff' || !stored.outcome) return null;
    const outcome = { ...stored.outcome };
    const retake = this.deps.assessment.plans.plan(sessionId)?.retake;
    // A chain of retakes is followed back to the session that sat the other element (bounded).
    if (retake && depth < 20) {
      const other: Element = retake.element === 'observation' ? 'written' : 'observation';
      const carried = this.standingOf(retake.of, depth + 1)?.[other];
      if (carried && !outcome[other]) outcome[other] = carried;
    }
    return outcome;
  }

  /** `organisationId`: that organisation's sessions only (every route passes the viewer's). */
  queue(filter: { from?: string; to?: string; status?: ModerationStatus; sampledOnly?: boolean; organisationId?: string }): QueueRow[] {
    const rule = this.samplingRule(filter.organisationId);
    const from = filter.from ? Date.parse(`${filter.from}T00:00:00Z`) : -Infinity;
    const to = filter.to ? Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000 : Infinity;
    const rows: QueueRow[] = [];
    for (const session of this.deps.sessions.listSessions(filter.organisationId)) {
      const plan = this.deps.assessment.plans.plan(session.id);
      if (!plan || plan.template.practice) continue;
      if (this.deps.assessment.dayState(session.id)?.status !== 'complete') continue;
      const when = plan.scheduledStart ?? Date.parse(session.createdAt);
      if (when < from || when >= to) continue;
      const facts = this.facts(session.id);
      if (filter.status && facts.status !== filter.status) continue;
      const sample = sampled(session.id, facts.results, rule);
      if (filter.sampledOnly && !sample.selected) continue;
      rows.push({
        sessionId: session.id,
        title: session.title,
        candidateName: facts.candidate?.displayName ?? '',
        candidateRef: plan.candidateRef,
        scheduledStart: plan.scheduledStart,
        templateName: plan.template.name,
        status: facts.status,
        results: this.resultsShown(facts),
        sampled: sample,
        retake: plan.retake,
        missingRatings: facts.rows.reduce((n, row) => n + row.observers.filter((o) => o.rating === null).length, 0),
      });
    }
    return rows.sort((a, b) => (b.scheduledStart ?? 0) - (a.scheduledStart ?? 0));
  }

  /** The moderation view of one session, as `viewer` sees it (they are never offered as their own reviewer). */
  view(sessionId: string, viewer?: ActingPerson): ModerationView {
    const facts = this.facts(sessionId);
    const { session, plan, participants, stored, status } = facts;
    const { rubric } = facts;
    const written = this.deps.written.frozen(sessionId);
    const lockedReason = this.lockedReason(facts);
    return {
      sessionId,
      title: session.title,
      level: session.level,
      candidateName: facts.candidate?.displayName ?? '',
      candidateRef: plan.candidateRef,
      scheduledStart: plan.scheduledStart,
      templateName: plan.template.name,
      dayComplete: facts.dayComplete,
      dayStopped: facts.dayStopped,
      status,
      editable: lockedReason === null,
      lockedReason,
      scale: frameworkFor(session.level).scale,
      reflectionScale: frameworkFor(session.level).reflectionScale,
      rows: facts.rows,
      globals: globalJudgements(rubric, participants),
      feedback: overallFeedback(rubric),
      notes: readEvidenceNotes(rubric, participants),
      recordedParts: this.deps.recordedParts(sessionId),
      written: written ? { text: written.text, frozenAt: written.frozenAt, sha256: written.sha256 } : null,
      results: this.resultsShown(facts),
      signedOff:
        stored?.signedOffAt && stored.outcome
          ? { byName: this.person(stored.signedOffBy)?.name ?? 'Moderator', at: stored.signedOffAt, outcome: this.standingOutcome(facts) ?? stored.outcome }
          : null,
      reviews: this.repo.reviews(sessionId).map((r) => {
        const openedBy = this.person(r.openedBy);
        return {
          id: r.id,
          reviewer: r.reviewerParticipantId ? { participantId: r.reviewerParticipantId, name: r.reviewerName, role: 'moderator' as const } : null,
          reviewerName: r.reviewerName,
          reasons: r.reasons,
          openedBy,
          openedByName: openedBy?.name ?? '',
          openedAt: r.openedAt,
          decision:
            r.decision && r.decidedAt
              ? { outcome: r.decision, reasons: r.decisionReasons ?? '', byName: this.person(r.decidedBy)?.name ?? '', at: r.decidedAt }
              : null,
        };
      }),
      eligibleReviewers: this.eligibleReviewers(facts, viewer),
      audit: this.auditView(sessionId),
      sampled: sampled(sessionId, facts.results, this.samplingRule(this.deps.sessions.organisationOf(sessionId))),
      employer: plan.employer,
      retake: plan.retake,
    };
  }

  /** What the rubric's observers may still change (see RubricLock). */
  rubricLock(sessionId: string): RubricLock {
    const status = this.repo.status(sessionId);
    if (status === null) return 'none';
    return status === 'moderating' ? 'ratings' : 'all';
  }

  candidateResult(candidate: Participant): CandidateResult {
    const plan = this.deps.assessment.plans.plan(candidate.sessionId);
    if (!plan || plan.template.practice) return { status: 'pending', outcome: null, reportPath: null };
    const stored = this.repo.result(candidate.sessionId);
    if (stored?.status === 'underReview') return { status: 'underReview', outcome: null, reportPath: null };
    if (stored?.status !== 'signedOff') return { status: 'pending', outcome: null, reportPath: null };
    return {
      status: 'available',
      outcome: this.standingOf(candidate.sessionId, 0),
      reportPath: candidateReportPath(candidate.sessionId, candidate.id),
    };
  }

  /** The organisation's sampling rule (see samplingSettingKeys). */
  samplingRule(organisationId?: string): SamplingRule {
    for (const key of samplingSettingKeys(organisationId)) {
      const parsed = SamplingRuleSchema.safeParse(this.repo.setting(key));
      if (parsed.success) return parsed.data;
    }
    return DEFAULT_SAMPLING_RULE;
  }

  // ---- changing ----

  /** Sets the organisation's own rule (the studio-wide default without one). */
  saveSamplingRule(actor: ActingPerson, rule: SamplingRule, organisationId?: string): SamplingRule {
    transaction(this.deps.db, () => {
      const old = this.samplingRule(organisationId);
      this.repo.saveSetting(samplingSettingKeys(organisationId)[0]!, rule);
      this.deps.audit.append({ actor, action: 'moderation.sampling_changed', detail: { old, new: rule } });
    });
    return rule;
  }

  changeMark(moderator: ActingPerson, sessionId: string, input: ChangeMark): ModerationView {
    transaction(this.deps.db, () => {
      const facts = this.facts(sessionId);
      const locked = this.lockedReason(facts);
      if (locked) throw new ProtocolFailure('CONFLICT', locked);
      this.assertMayModerate(facts, moderator);
      const row = facts.rows.find((r) => r.part === input.part && r.itemId === input.itemId);
      if (!row) throw new ProtocolFailure('INVALID_PAYLOAD', `this session has no mark "${input.itemId}" in ${partLabel(input.part).toLowerCase()}`);
      if (row.final !== input.expected) {
        throw new ProtocolFailure(
          'CONFLICT',
          `${partLabel(row.part)}, ${row.itemTitle}: the mark changed since you loaded it (it is now ${row.final ?? 'not given'}); check it and try again`,
        );
      }
      const at = this.now().toISOString();
      const started = this.repo.startModeration(sessionId, at);
      if (started) this.deps.audit.append({ sessionId, actor: moderator, action: 'moderation.started', detail: { note: "observers' ratings and notes are frozen from now" } });
      this.repo.saveMark(sessionId, { part: input.part, itemId: input.itemId, rating: input.rating, rationale: input.rationale, byParticipantId: moderator.participantId, at });
      const openReview = this.repo.reviews(sessionId).find((r) => r.decidedAt === null);
      this.deps.audit.append({
        sessionId,
        actor: moderator,
        action: input.rating === row.final ? 'moderation.mark_confirmed' : 'moderation.mark_changed',
        detail: {
          part: input.part,
          itemId: input.itemId,
          item: `${partLabel(row.part)} — ${row.itemTitle}`,
          old: row.final,
          oldSource: row.moderated ? 'moderator' : row.agreed ? 'agreed' : null,
          new: input.rating,
          rationale: input.rationale,
          ...(openReview ? { reviewId: openReview.id } : {}),
        },
      });
    });
    this.deps.log.info({ sessionId, by: moderator.participantId, part: input.part, item: input.itemId }, 'moderated mark saved');
    return this.view(sessionId, moderator);
  }

  signOff(moderator: ActingPerson, sessionId: string, input: SignOff): ModerationView {
    transaction(this.deps.db, () => {
      const facts = this.facts(sessionId);
      if (!facts.dayComplete) throw new ProtocolFailure('CONFLICT', this.lockedReason(facts) ?? 'the assessment day has not finished yet');
      if (facts.status === 'moderated') throw new ProtocolFailure('CONFLICT', 'this result is already signed off and locked');
      if (facts.status === 'underReview') throw new ProtocolFailure('CONFLICT', 'this result is under independent review: record the review decision instead');
      this.assertMayModerate(facts, moderator);
      const missing = facts.rows.filter((r) => r.final === null);
      if (missing.length > 0) {
        const list = missing.slice(0, 8).map((r) => `${partLabel(r.part)} — ${r.itemTitle}`);
        throw new ProtocolFailure(
          'INVALID_PAYLOAD',
          `cannot sign off: ${missing.length} mark${missing.length === 1 ? ' is' : 's are'} missing (${list.join('; ')}${missing.length > 8 ? '; …' : ''})`,
        );
      }
      const feedback = overallFeedback(facts.rubric);
      if (!feedback.strengths || !feedback.development) {
        throw new ProtocolFailure(
          'INVALID_PAYLOAD',
          "cannot sign off: the lead observer's overall feedback (strengths and areas for development) is missing, and the candidate's report needs it",
        );
      }
      const outcome: Partial<Record<Element, Outcome>> = {};
      for (const r of facts.results) if (r.assessed && r.outcome) outcome[r.element] = r.outcome;
      const confirmed = Object.entries(input.outcome).sort().join();
      if (Object.entries(outcome).sort().join() !== confirmed) {
        throw new ProtocolFailure('CONFLICT', 'the outcome changed since you loaded this result; check it again before signing off');
      }
      const at = this.now().toISOString();
      if (this.repo.startModeration(sessionId, at)) {
        this.deps.audit.append({ sessionId, actor: moderator, action: 'moderation.started', detail: {} });
      }
      this.repo.signOff(sessionId, moderator.participantId, at, outcome, { rows: facts.rows, results: facts.results, feedback });
      this.deps.audit.append({
        sessionId,
        actor: moderator,
        action: 'moderation.signed_off',
        detail: { outcome, scores: Object.fromEntries(facts.results.filter((r) => r.assessed).map((r) => [r.element, r.score])) },
      });
    });
    this.deps.log.info({ sessionId, by: moderator.participantId }, 'result signed off');
    this.deps.resultSignedOff?.(sessionId);
    return this.view(sessionId, moderator);
  }

  /** A coordinator or moderator opens an independent review of a signed-off result, naming
   *  its reviewer: a moderator who is not the opener and took no part in the result. Only that
   *  reviewer then changes marks and records the decision — two people, neither of whom made
   *  the result, are needed to overturn it. */
  openReview(opener: ActingPerson, sessionId: string, input: OpenReview): ModerationView {
    if (opener.role !== 'coordinator' && opener.role !== 'moderator') throw new ProtocolFailure('FORBIDDEN', 'only a coordinator or a moderator opens an independent review');
    transaction(this.deps.db, () => {
      const facts = this.facts(sessionId);
      if (facts.status === 'underReview') throw new ProtocolFailure('CONFLICT', 'an independent review of this result is already open');
      if (facts.status !== 'moderated') throw new ProtocolFailure('CONFLICT', 'only a signed-off result can go to independent review');
      const found = this.deps.sessions.getParticipant(input.reviewerParticipantId);
      if (!found) throw new ProtocolFailure('INVALID_PAYLOAD', 'no such person: choose the independent reviewer from the list');
      const reviewer = actingPerson(found);
      const refusal = this.reviewerRefusal(facts, reviewer, this.involved(facts)) ?? (samePerson(reviewer, opener) ? 'the person who opens a review cannot also decide it: name another moderator as the reviewer' : null);
      if (refusal) throw new ProtocolFailure('INVALID_PAYLOAD', refusal);
      const at = this.now().toISOString();
      const id = this.repo.openReview({
        sessionId,
        reviewerParticipantId: reviewer.participantId,
        reviewerName: reviewer.name,
        reviewerRole: reviewer.role,
        reasons: input.reasons,
        openedBy: opener.participantId,
        openedAt: at,
      });
      this.repo.setStatus(sessionId, 'underReview');
      this.deps.audit.append({ sessionId, actor: opener, action: 'review.opened', detail: { reviewId: id, reviewer: reviewer.name, reviewerParticipantId: reviewer.participantId, reasons: input.reasons } });
    });
    this.deps.log.info({ sessionId, by: opener.participantId, reviewer: input.reviewerParticipantId }, 'independent review opened');
    return this.view(sessionId, opener);
  }

  /** The named reviewer, signed in as themselves, records the review's outcome. */
  decideReview(actor: ActingPerson, sessionId: string, reviewId: string, input: DecideReview): ModerationView {
    transaction(this.deps.db, () => {
      const facts = this.facts(sessionId);
      const review = this.repo.reviews(sessionId).find((r) => r.id === reviewId);
      if (!review) throw new ProtocolFailure('NOT_FOUND', 'no such review of this result');
      if (review.decidedAt !== null) throw new ProtocolFailure('CONFLICT', 'this review has already been decided');
      this.assertIsReviewer(review, actor);
      // Checked again at the decision, which is what counts; the reviewer's own mark changes during the review are theirs to make.
      const refusal = this.reviewerRefusal(facts, actor, { signer: this.person(facts.stored?.signedOffBy), markers: [] });
      if (refusal) throw new ProtocolFailure('FORBIDDEN', refusal);
      const assessed = facts.results.filter((r) => r.assessed).map((r) => r.element);
      const given = Object.keys(input.outcome) as Element[];
      const absent = assessed.filter((e) => !given.includes(e));
      const extra = given.filter((e) => !assessed.includes(e));
      if (absent.length > 0 || extra.length > 0) {
        throw new ProtocolFailure(
          'INVALID_PAYLOAD',
          `the review decision must give an outcome for exactly: ${assessed.map((e) => ELEMENT_LABELS[e].toLowerCase()).join(', ')}`,
        );
      }
      const at = this.now().toISOString();
      const previous = facts.stored?.outcome ?? null;
      this.repo.decideReview(reviewId, input.outcome, input.reasons, actor.participantId, at);
      this.repo.setStatus(sessionId, 'signedOff', input.outcome);
      this.deps.audit.append({ sessionId, actor, action: 'review.decided', detail: { reviewId, previous, outcome: input.outcome, reasons: input.reasons } });
    });
    this.deps.log.info({ sessionId, by: actor.participantId, reviewId }, 'independent review decided');
    return this.view(sessionId, actor);
  }

  /** A retake is of one failed element of a signed-off result of the same candidate, whose other element passed. */
  assertRetakeAllowed(retake: { of: string; element: Element }, candidateRef: string): void {
    const plan = this.deps.assessment.plans.plan(retake.of);
    if (!plan) throw new ProtocolFailure('NOT_FOUND', 'the session to retake does not exist');
    if (plan.candidateRef !== candidateRef) throw new ProtocolFailure('INVALID_PAYLOAD', 'that session is another candidate’s (the candidate reference differs)');
    const outcome = this.standingOf(retake.of, 0);
    if (!outcome) throw new ProtocolFailure('CONFLICT', 'the earlier result is not signed off yet (or is under review)');
    if (outcome[retake.element] !== 'fail') throw new ProtocolFailure('CONFLICT', `the ${ELEMENT_LABELS[retake.element].toLowerCase()} was not failed: there is nothing to retake`);
    const failed = (Object.entries(outcome) as Array<[Element, Outcome]>).filter(([, o]) => o === 'fail');
    if (failed.length > 1) throw new ProtocolFailure('CONFLICT', 'more than one element was failed: book a full retake instead');
    const booked = this.deps.assessment.plans.retakesOf(retake.of).find((r) => r.element === retake.element);
    if (booked) throw new ProtocolFailure('CONFLICT', `a retake of the ${ELEMENT_LABELS[retake.element].toLowerCase()} is already booked (session ${booked.sessionId})`);
  }

  // ---- helpers ----

  /** A participant record as the acting person it was (any session: moderators and coordinators work across sessions). */
  person(participantId: string | null | undefined): ActingPerson | null {
    const found = participantId ? this.deps.sessions.getParticipant(participantId) : undefined;
    if (found) return actingPerson(found);
    // A staff desk acts under its person's id (no participant record).
    const person = participantId ? this.people.get(participantId) : undefined;
    return person ? { participantId: person.id, name: person.displayName, role: 'moderator', personId: person.id } : null;
  }

  /** Who may change marks and sign off now: a moderator who did not observe this session;
   *  while a review is open, only its named reviewer. */
  private assertMayModerate(facts: SessionFacts, moderator: ActingPerson): void {
    if (moderator.role !== 'moderator') throw new ProtocolFailure('FORBIDDEN', 'only a moderator changes marks and signs results off');
    const observer = this.observerLike(facts, moderator);
    if (observer) throw new ProtocolFailure('FORBIDDEN', `${moderator.name} observed this session (${personLabel(actingPerson(observer))}): a moderator must be independent of its observers`);
    if (facts.status !== 'underReview') return;
    const open = this.repo.reviews(facts.session.id).find((r) => r.decidedAt === null);
    if (!open?.reviewerParticipantId || open.reviewerParticipantId !== moderator.participantId) {
      throw new ProtocolFailure('FORBIDDEN', `while the independent review is open only its reviewer${open ? `, ${open.reviewerName},` : ''} changes marks`);
    }
  }

  private assertIsReviewer(review: StoredReview, actor: ActingPerson): void {
    if (review.reviewerParticipantId === null) {
      throw new ProtocolFailure('CONFLICT', 'this review was recorded before reviewers had to be named moderators; it cannot be decided here');
    }
    const named = this.person(review.reviewerParticipantId);
    if (review.reviewerParticipantId !== actor.participantId && !(named?.personId && named.personId === actor.personId)) {
      throw new ProtocolFailure('FORBIDDEN', `only the named independent reviewer, ${review.reviewerName}, signed in as themselves, records this decision`);
    }
  }

  private observerLike(facts: SessionFacts, person: ActingPerson): Participant | undefined {
    return facts.participants.find((p) => (p.role === 'observer' || p.role === 'leadObserver') && samePerson(actingPerson(p), person));
  }

  /** Who took part in this result: its signer-off and the moderators who changed its marks
   *  (its observers are checked from the session's participants). */
  private involved(facts: SessionFacts): { signer: ActingPerson | null; markers: ActingPerson[] } {
    return {
      signer: this.person(facts.stored?.signedOffBy),
      markers: this.repo.markersOf(facts.session.id).flatMap((id) => this.person(id) ?? []),
    };
  }

  /** Why this person cannot review this result, or null: the reviewer is a moderator who did
   *  not sign it off, did not observe the session and (when `markers` are given) did not change its marks. */
  private reviewerRefusal(facts: SessionFacts, reviewer: ActingPerson, involved: { signer: ActingPerson | null; markers: ActingPerson[] }): string | null {
    if (reviewer.role !== 'moderator') return `the independent reviewer must be a moderator; ${reviewer.name} is a ${ROLE_LABELS[reviewer.role].toLowerCase()}`;
    if (involved.signer && samePerson(reviewer, involved.signer)) return `${reviewer.name} signed this result off; the independent reviewer must be someone else`;
    const observer = this.observerLike(facts, reviewer);
    if (observer) return `${reviewer.name} observed this session (${personLabel(actingPerson(observer))}); the independent reviewer must not have`;
    if (involved.markers.some((m) => samePerson(reviewer, m))) return `${reviewer.name} changed this result's marks; the independent reviewer must not have`;
    return null;
  }

  /** The moderators who could be named as reviewer of this signed-off result, by `viewer`. */
  private eligibleReviewers(facts: SessionFacts, viewer: ActingPerson | undefined): ReviewerOption[] {
    if (facts.status !== 'moderated') return [];
    const involved = this.involved(facts);
    return this.repo
      // The session's organisation's moderators only, before the list is cut short.
      .moderators(this.deps.sessions.organisationOf(facts.session.id))
      .filter((m) => {
        const person: ActingPerson = { participantId: m.participantId, name: m.name, role: 'moderator' };
        return this.reviewerRefusal(facts, person, involved) === null && !(viewer && samePerson(person, viewer));
      })
      .slice(0, 200)
      .map((m) => ({ participantId: m.participantId, name: m.name, invitedFor: m.sessionTitle }));
  }

  private lockedReason(facts: SessionFacts): string | null {
    if (facts.dayStopped) return 'the assessment day was stopped early: it has no result (the candidate can be booked again)';
    if (!facts.dayComplete) return 'the assessment day has not finished yet';
    if (facts.status === 'moderated') return 'this result is signed off and locked; it can change only through a recorded independent review';
    return null;
  }

  /** An element a retake did not assess carries its outcome over from the session retaken. */
  private withCarriedOver(plan: SessionPlan, results: ElementResult[]): ElementResult[] {
    if (!plan.retake) return results;
    const other: Element = plan.retake.element === 'observation' ? 'written' : 'observation';
    const carried = this.standingOf(plan.retake.of, 1)?.[other];
    if (!carried) return results;
    const rules = resultRules(plan.template);
    return [
      ...results,
      {
        element: other,
        assessed: false,
        score: null,
        passMark: other === 'observation' ? rules.observationPassMark : rules.writtenPassMark,
        missing: 0,
        outcome: carried,
        borderline: false,
        carriedOver: { sessionId: plan.retake.of, outcome: carried },
      },
    ];
  }

  /** Provisional results until sign-off; afterwards the standing outcome. */
  private resultsShown(facts: SessionFacts): ElementResult[] {
    const standing = this.standingOutcome(facts);
    if (!standing) return facts.results;
    return facts.results.map((r) => (standing[r.element] ? { ...r, outcome: standing[r.element] ?? r.outcome } : r));
  }

  private auditView(sessionId: string): AuditView[] {
    return this.deps.audit
      .list(sessionId)
      .filter((e) => AUDIT_PREFIXES.some((prefix) => e.action.startsWith(prefix)))
      .map((e) => {
        // Rows written before the actor's name was stored name them from the participant record.
        const role = RoleSchema.safeParse(e.actor?.role);
        const stored = e.actor && role.success ? { participantId: e.actor.participantId, name: e.actor.name, role: role.data } : null;
        const actor = stored ?? this.person(e.actorParticipantId);
        return { id: e.id, at: e.at, who: actor ? personLabel(actor) : (e.job ?? 'SimStudio'), actor, action: e.action, detail: e.detail };
      });
  }
}

function statusOf(stored: ResultRow | undefined): ModerationStatus {
  if (stored?.status === 'signedOff') return 'moderated';
  if (stored?.status === 'underReview') return 'underReview';
  return 'awaiting';
}
