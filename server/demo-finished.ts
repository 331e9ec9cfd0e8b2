// A finished demo day, for trying moderation and results without running a whole day: the
// day is run through to its end, the observers' ratings, evidence notes, agreed ratings and
// narrative go into the rubric documents, and the candidate's written exercise is written and
// frozen — through the same stores a real day uses. One domain is left with the observers in
// disagreement, so that there is something to moderate. `storeFinishedDay` is the part the
// synthetic cohort (server/analytics/synthetic-cohort.ts) shares: any marks, stored the same way.
import * as Y from 'yjs';
import { collabDocName, sheetDocName, WRITTEN_FRAGMENT, type SheetScenario } from '../shared/collab.ts';
import type { Participant } from '../shared/domain.ts';
import {
  agreedKey,
  feedbackKey,
  frameworkFor,
  globalKey,
  noteKey,
  ratingKey,
  submittedKey,
  type AgreedRating,
  type EvidenceNote,
} from '../shared/rubric.ts';
import type { AssessmentService } from './assessment/assessment-service.ts';
import type { DocStore } from './collab/doc-store.ts';
import { REFLECTION_ITEM_ID } from './moderation/marks.ts';
import type { WrittenExercise } from './written/written-exercise.ts';

export const DEMO_FEEDBACK = {
  strengths:
    'Sam built trust with the family quickly, explained the purpose of each visit in plain language and kept the child at the centre of the conversation.',
  development:
    'Analysis of risk needs to go further: link what was heard to a clear hypothesis, and test it with the parent before deciding on next steps.',
};

export const DEMO_WRITTEN_TEXT = [
  'Case notes: visited Ms Hughes at home with Leo present. Leo appeared well cared for; the kitchen was clean and there was food in the fridge.',
  'Risk: missed health appointments and the school’s concern about Leo’s attendance; strengths are the maternal grandmother’s support and Ms Hughes’s willingness to engage.',
  'Decision: continue the assessment; agree a plan with Ms Hughes for health appointments and speak to the school before the next visit.',
];

/** One observer's sheet for one scenario, as they left it. */
export interface SheetMarks {
  observerId: string;
  scenario: SheetScenario;
  /** item id → rating (1–4). */
  ratings: ReadonlyMap<string, number>;
  /** The 1–7 global judgement (null: none given). */
  global: number | null;
  /** Submitted (read-only evidence) or still a draft. */
  submitted: boolean;
  notes?: Array<{ id: string; note: EvidenceNote }>;
}

/** Everything a finished day holds besides the day itself. */
export interface FinishedDayMarks {
  sheets: SheetMarks[];
  agreed: Array<{ scenario: SheetScenario; itemId: string } & AgreedRating>;
  feedback: { strengths: string; development: string };
  /** The candidate's written exercise, one paragraph per line (stored where the day has one). */
  writtenText: readonly string[];
  /** When the sheets were submitted (epoch ms). */
  submittedAt: number;
}

export interface FinishedDayDeps {
  assessment: AssessmentService;
  store: DocStore;
  written: WrittenExercise;
}

/**
 * Runs the session's day through every phase (the lead observer advancing), writes and
 * freezes the written exercise, and stores the observers' sheets and the lead's document.
 */
export function storeFinishedDay(deps: FinishedDayDeps, sessionId: string, lead: Participant, marks: FinishedDayMarks): void {
  // The candidate's written exercise (where the day has one), written and frozen as at the end
  // of the writing window.
  const writes = deps.assessment.dayState(sessionId)?.phases.some((p) => p.kind === 'writtenExercise') ?? false;
  if (writes) {
    const written = new Y.Doc();
    const paragraphs = marks.writtenText.map((line) => {
      const p = new Y.XmlElement('paragraph');
      p.insert(0, [new Y.XmlText(line)]);
      return p;
    });
    written.getXmlFragment(WRITTEN_FRAGMENT).insert(0, paragraphs);
    deps.store.append(collabDocName(sessionId, 'written'), Y.encodeStateAsUpdate(written));
  }

  // Run the day through every phase.
  // The simulated candidate is there throughout: each scenario counts as sat (issue 15).
  let state = deps.assessment.control(lead, { action: 'start' });
  while (state.status !== 'complete') {
    state = deps.assessment.control(lead, { action: 'advance', fromPhaseIndex: state.phaseIndex });
    deps.assessment.noteOnStage(sessionId, () => true);
  }
  if (writes) deps.written.freeze(sessionId);

  // Each sheet is its own document, written only by its observer.
  for (const sheet of marks.sheets) {
    const doc = new Y.Doc();
    const ratings = doc.getMap('ratings');
    for (const [itemId, rating] of sheet.ratings) ratings.set(ratingKey(sheet.observerId, sheet.scenario, itemId), rating);
    if (sheet.global !== null) doc.getMap('global').set(globalKey(sheet.observerId, sheet.scenario), sheet.global);
    for (const { id, note } of sheet.notes ?? []) doc.getMap('notes').set(noteKey(sheet.observerId, id), note);
    if (sheet.submitted) doc.getMap('submitted').set(submittedKey(sheet.observerId, sheet.scenario), marks.submittedAt);
    deps.store.append(sheetDocName(sessionId, sheet.observerId, sheet.scenario), Y.encodeStateAsUpdate(doc));
  }

  // The lead observer's document: agreed ratings and the narrative.
  const rubric = new Y.Doc();
  const agreed = rubric.getMap('agreed');
  for (const a of marks.agreed) agreed.set(agreedKey(a.scenario, a.itemId), { rating: a.rating, rationale: a.rationale });
  rubric.getMap('feedback').set(feedbackKey('overall', 'strengths'), marks.feedback.strengths);
  rubric.getMap('feedback').set(feedbackKey('overall', 'development'), marks.feedback.development);
  deps.store.append(collabDocName(sessionId, 'rubric'), Y.encodeStateAsUpdate(rubric));
}

export function finishDemoDay(deps: FinishedDayDeps, sessionId: string, participants: Participant[]): void {
  const lead = participants.find((p) => p.role === 'leadObserver');
  const observer = participants.find((p) => p.role === 'observer');
  const candidate = participants.find((p) => p.role === 'candidate');
  const plan = deps.assessment.plans.plan(sessionId);
  if (!lead || !observer || !candidate || !plan) throw new Error('the demo session needs a plan, a candidate, a lead observer and an observer');

  // Both observers rate every scored domain in their own sheets and submit them; they
  // disagree on one; the lead records the agreed ratings and the feedback.
  const framework = frameworkFor(plan.template.level);
  const domains = plan.template.scoredDomains ?? framework.defaultScoredDomains;
  const now = Date.now();
  const sheets: SheetMarks[] = [];
  const agreed: FinishedDayMarks['agreed'] = [];
  for (let n = 1; n <= plan.template.scenarioCount; n++) {
    const scenario = n as 1 | 2 | 3;
    const leadRatings = new Map<string, number>();
    const observerRatings = new Map<string, number>();
    domains.forEach((domainId, i) => {
      const disputed = scenario === 2 && i === 0;
      const leadRating = disputed ? 3 : i % 3 === 2 ? 2 : 3;
      leadRatings.set(domainId, leadRating);
      observerRatings.set(domainId, disputed ? 1 : leadRating);
      agreed.push({
        scenario,
        itemId: domainId,
        rating: disputed ? 2 : leadRating,
        rationale: disputed ? 'Observers differed on how far the candidate built the relationship; agreed at borderline.' : 'Both observers agreed.',
      });
    });
    sheets.push({ observerId: lead.id, scenario, ratings: leadRatings, global: 4, submitted: true });
    sheets.push({
      observerId: observer.id,
      scenario,
      ratings: observerRatings,
      global: 4,
      submitted: true,
      notes: [
        {
          id: `demo-${scenario}`,
          note: {
            scenario,
            atMs: 60_000 * scenario,
            domainId: domains[0] ?? null,
            text: `Scenario ${scenario}: candidate explained the reason for the visit and asked open questions.`,
            createdAt: now,
          },
        },
      ],
    });
  }
  if (plan.template.phases.some((p) => p.kind === 'reflectiveConversation')) {
    for (const o of [lead, observer]) {
      sheets.push({ observerId: o.id, scenario: 'reflective', ratings: new Map([[REFLECTION_ITEM_ID, 3]]), global: null, submitted: true });
    }
    agreed.push({ scenario: 'reflective', itemId: REFLECTION_ITEM_ID, rating: 3, rationale: 'Reflective; hypotheses revised.' });
  }
  storeFinishedDay(deps, sessionId, lead, { sheets, agreed, feedback: DEMO_FEEDBACK, writtenText: DEMO_WRITTEN_TEXT, submittedAt: now });
}
