// A cohort's stored ratings and outcomes as typed rows, for the analytics pages (read only,
// no HTTP). Ratings are each observer's own independent ratings from their SUBMITTED sheets
// (a draft is not evidence yet); outcomes are the standing observation outcome: the
// signed-off one, else the provisional one from the agreed and moderated marks. Practice
// sessions and days not yet complete are left out. Per session it reads the plan, its
// participants, its sheets (two queries) and, only while the result is provisional, the
// lead's document.
import * as Y from 'yjs';
import { sheetDocName, sheetsPrefix, type SheetScenario } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import type { MarkRow } from '../../shared/moderation.ts';
import { globalKey, ratingKey, submittedKey } from '../../shared/rubric.ts';
import type { PlansRepo, SessionPlan } from '../assessment/plans-repo.ts';
import type { DocStore } from '../collab/doc-store.ts';
import { readRubricView } from '../collab/rubric-view.ts';
import type { Database } from '../db/database.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { markItems, markRows, resultsFromRows, type MarkItem } from '../moderation/marks.ts';
import { ModerationRepo } from '../moderation/moderation-repo.ts';

export interface CohortRating {
  sessionId: string;
  /** The candidate's reference if the plan has one, else their participant id. */
  candidate: string;
  /** The observer's display name (people accounts do not exist yet: issue 13). */
  rater: string;
  raterParticipantId: string;
  lead: boolean;
  scenario: number | 'reflective';
  /** Domain id, or 'reflection'. */
  item: string;
  /** The observer's own independent rating 1–4, from a submitted sheet. */
  score: number;
  /** That observer's 1–7 global judgement for that scenario. */
  global: number | null;
  /** Display name of the actor who played that scenario, if known. */
  actor: string | null;
}

export interface CohortOutcome {
  sessionId: string;
  candidate: string;
  /** Epoch ms. */
  scheduledStart: number | null;
  /** The standing (signed-off, else provisional) observation outcome. */
  observation: 'pass' | 'fail' | null;
  signedOff: boolean;
  /** With `finalMarks`: each observed item's final mark (a moderator's, else the agreed rating). */
  finals?: CohortFinalMark[];
}

export interface CohortFinalMark {
  scenario: number | 'reflective';
  /** Domain id, or 'reflection'. */
  item: string;
  rating: number;
}

export interface CohortDataOptions {
  /** Also read every session's final marks (the lead's document even once signed off). */
  finalMarks?: boolean;
}

export interface CohortData {
  ratings: CohortRating[];
  outcomes: CohortOutcome[];
}

export interface CohortDataDeps {
  db: Database;
  sessions: Pick<SessionsRepo, 'listSessions' | 'listParticipants'>;
  plans: Pick<PlansRepo, 'plan' | 'day' | 'slots'>;
  store: Pick<DocStore, 'load' | 'loadUnder'>;
  /** Moderation's stored results and marks (default: read from `db`). */
  moderation?: Pick<ModerationRepo, 'result' | 'marks'>;
}

/** Sessions whose scheduled start (else creation time) is in [from, to), epoch ms. */
export interface CohortRange {
  from?: number;
  to?: number;
  /** One organisation's sessions only (every route passes the viewer's). */
  organisationId?: string | undefined;
}

const isRating = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4;
const isGlobal = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 7;

export function cohortData(deps: CohortDataDeps, range: CohortRange = {}, options: CohortDataOptions = {}): CohortData {
  const moderation = deps.moderation ?? new ModerationRepo(deps.db);
  const from = range.from ?? -Infinity;
  const to = range.to ?? Infinity;
  const chosen: Array<{ plan: SessionPlan; when: number }> = [];
  for (const session of deps.sessions.listSessions(range.organisationId)) {
    const plan = deps.plans.plan(session.id);
    if (!plan || plan.template.practice) continue;
    const when = plan.scheduledStart ?? Date.parse(session.createdAt);
    if (when < from || when >= to) continue;
    if (deps.plans.day(session.id)?.status !== 'complete') continue;
    chosen.push({ plan, when });
  }
  chosen.sort((a, b) => a.when - b.when || a.plan.sessionId.localeCompare(b.plan.sessionId));

  const data: CohortData = { ratings: [], outcomes: [] };
  for (const { plan } of chosen) {
    const sessionId = plan.sessionId;
    const participants = deps.sessions.listParticipants(sessionId);
    const candidate = plan.candidateRef ?? participants.find((p) => p.role === 'candidate')?.id ?? '';
    const observers = participants.filter((p) => p.role === 'leadObserver' || p.role === 'observer');
    const items = markItems(plan.template, plan.retake?.element ?? null).filter((i) => i.part !== 'written');
    const sheets = deps.store.loadUnder(sheetsPrefix(sessionId));
    const names = new Map(participants.map((p) => [p.id, p.displayName]));
    const actorOf = new Map(deps.plans.slots(sessionId).map((s) => [s.number, s.actorParticipantId === null ? null : (names.get(s.actorParticipantId) ?? null)]));
    for (const observer of observers) data.ratings.push(...submittedRatings(sessionId, candidate, observer, items, sheets, actorOf));

    const stored = moderation.result(sessionId);
    const signedOff = stored?.status === 'signedOff' && stored.outcome !== null;
    const rows = !signedOff || options.finalMarks ? finalRows(deps, moderation, plan, participants, items, sheets) : null;
    data.outcomes.push({
      sessionId,
      candidate,
      scheduledStart: plan.scheduledStart,
      observation: signedOff ? (stored?.outcome?.observation ?? null) : provisionalObservation(plan, rows!),
      signedOff,
      ...(options.finalMarks
        ? { finals: rows!.flatMap((r) => (r.final === null || r.part === 'written' ? [] : [{ scenario: r.part, item: r.itemId, rating: r.final }])) }
        : {}),
    });
  }
  return data;
}

/** One observer's ratings from their submitted sheets, one row per rated item. */
function submittedRatings(
  sessionId: string,
  candidate: string,
  observer: Participant,
  items: MarkItem[],
  sheets: Map<string, Y.Doc>,
  actorOf: Map<number, string | null>,
): CohortRating[] {
  const rows: CohortRating[] = [];
  const parts = [...new Set(items.map((i) => i.part as SheetScenario))];
  for (const scenario of parts) {
    const sheet = sheets.get(sheetDocName(sessionId, observer.id, scenario));
    if (!sheet || typeof sheet.getMap('submitted').get(submittedKey(observer.id, scenario)) !== 'number') continue;
    const ratings = sheet.getMap('ratings');
    const global = sheet.getMap('global').get(globalKey(observer.id, scenario));
    for (const item of items) {
      if (item.part !== scenario) continue;
      const score = ratings.get(ratingKey(observer.id, scenario, item.itemId));
      if (!isRating(score)) continue;
      rows.push({
        sessionId,
        candidate,
        rater: observer.displayName,
        raterParticipantId: observer.id,
        lead: observer.role === 'leadObserver',
        scenario,
        item: item.itemId,
        score,
        global: isGlobal(global) ? global : null,
        actor: scenario === 'reflective' ? null : (actorOf.get(scenario) ?? null),
      });
    }
  }
  return rows;
}

/** The observation outcome the marks give now (agreed ratings, a moderator's over them), as moderation computes it. */
function provisionalObservation(plan: SessionPlan, rows: MarkRow[]): 'pass' | 'fail' | null {
  if (rows.length === 0) return null;
  return resultsFromRows(plan.template, plan.retake?.element ?? null, rows).find((r) => r.element === 'observation')?.outcome ?? null;
}

/** Moderation's rows of the observed items: observers' ratings, the agreed rating, a moderator's over it. */
function finalRows(
  deps: CohortDataDeps,
  moderation: Pick<ModerationRepo, 'marks'>,
  plan: SessionPlan,
  participants: Participant[],
  items: MarkItem[],
  sheets: Map<string, Y.Doc>,
): MarkRow[] {
  if (items.length === 0) return [];
  const prefix = sheetsPrefix(plan.sessionId);
  const empty = new Y.Doc();
  const rubric = readRubricView(
    (name) => sheets.get(name) ?? (name.startsWith(prefix) ? empty : deps.store.load(name).ydoc),
    plan.sessionId,
    participants.filter((p) => p.role === 'leadObserver' || p.role === 'observer').map((p) => p.id),
  );
  const moderated = moderation.marks(plan.sessionId).map((m) => ({ ...m, byName: '' }));
  return markRows(items, rubric, participants, moderated);
}
