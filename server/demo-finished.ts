// A finished demo day, for trying moderation and results without running a whole day: the
// day is run through to its end, the observers' ratings, evidence notes, agreed ratings and
// narrative go into the rubric document, and the candidate's written exercise is written and
// frozen — through the same stores a real day uses. One domain is left with the observers in
// disagreement, so that there is something to moderate.
import * as Y from 'yjs';
import { collabDocName, sheetDocName, WRITTEN_FRAGMENT, type SheetScenario } from '../shared/collab.ts';
import type { Participant } from '../shared/domain.ts';
import { agreedKey, feedbackKey, frameworkFor, globalKey, noteKey, ratingKey, submittedKey } from '../shared/rubric.ts';
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

const WRITTEN_TEXT = [
  'Case notes: visited Ms Hughes at home with Leo present. Leo appeared well cared for; the kitchen was clean and there was food in the fridge.',
  'Risk: missed health appointments and the school’s concern about Leo’s attendance; strengths are the maternal grandmother’s support and Ms Hughes’s willingness to engage.',
  'Decision: continue the assessment; agree a plan with Ms Hughes for health appointments and speak to the school before the next visit.',
];

export function finishDemoDay(
  deps: { assessment: AssessmentService; store: DocStore; written: WrittenExercise },
  sessionId: string,
  participants: Participant[],
): void {
  const lead = participants.find((p) => p.role === 'leadObserver');
  const observer = participants.find((p) => p.role === 'observer');
  const candidate = participants.find((p) => p.role === 'candidate');
  const plan = deps.assessment.plans.plan(sessionId);
  if (!lead || !observer || !candidate || !plan) throw new Error('the demo session needs a plan, a candidate, a lead observer and an observer');

  // The candidate's written exercise (where the day has one), written and frozen as at the end
  // of the writing window.
  const writes = deps.assessment.dayState(sessionId)?.phases.some((p) => p.kind === 'writtenExercise') ?? false;
  const written = new Y.Doc();
  const paragraphs = WRITTEN_TEXT.map((line) => {
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText(line)]);
    return p;
  });
  written.getXmlFragment(WRITTEN_FRAGMENT).insert(0, paragraphs);
  if (writes) deps.store.append(collabDocName(sessionId, 'written'), Y.encodeStateAsUpdate(written));

  // Run the day through every phase.
  let state = deps.assessment.control(lead, { action: 'start' });
  while (state.status !== 'complete') state = deps.assessment.control(lead, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  if (writes) deps.written.freeze(sessionId);

  // The rubric: both observers rate every scored domain in their own sheets and submit them;
  // they disagree on one; the lead records the agreed ratings and the feedback.
  const rubric = new Y.Doc();
  const sheets = new Map<string, Y.Doc>();
  const sheet = (observerId: string, scenario: SheetScenario): Y.Doc => {
    const name = sheetDocName(sessionId, observerId, scenario);
    const doc = sheets.get(name) ?? new Y.Doc();
    sheets.set(name, doc);
    return doc;
  };
  const framework = frameworkFor(plan.template.level);
  const domains = plan.template.scoredDomains ?? framework.defaultScoredDomains;
  const now = Date.now();
  const agreed = rubric.getMap('agreed');
  for (let n = 1; n <= plan.template.scenarioCount; n++) {
    const scenario = n as 1 | 2 | 3;
    domains.forEach((domainId, i) => {
      const disputed = scenario === 2 && i === 0;
      const leadRating = disputed ? 3 : i % 3 === 2 ? 2 : 3;
      const observerRating = disputed ? 1 : leadRating;
      sheet(lead.id, scenario).getMap('ratings').set(ratingKey(lead.id, scenario, domainId), leadRating);
      sheet(observer.id, scenario).getMap('ratings').set(ratingKey(observer.id, scenario, domainId), observerRating);
      agreed.set(agreedKey(scenario, domainId), {
        rating: disputed ? 2 : leadRating,
        rationale: disputed ? 'Observers differed on how far the candidate built the relationship; agreed at borderline.' : 'Both observers agreed.',
      });
    });
    sheet(observer.id, scenario).getMap('notes').set(noteKey(observer.id, `demo-${scenario}`), {
      scenario,
      atMs: 60_000 * scenario,
      domainId: domains[0] ?? null,
      text: `Scenario ${scenario}: candidate explained the reason for the visit and asked open questions.`,
      createdAt: now,
    });
    for (const o of [lead, observer]) {
      sheet(o.id, scenario).getMap('global').set(globalKey(o.id, scenario), 4);
      sheet(o.id, scenario).getMap('submitted').set(submittedKey(o.id, scenario), now);
    }
  }
  if (plan.template.phases.some((p) => p.kind === 'reflectiveConversation')) {
    for (const o of [lead, observer]) {
      sheet(o.id, 'reflective').getMap('ratings').set(ratingKey(o.id, 'reflective', REFLECTION_ITEM_ID), 3);
      sheet(o.id, 'reflective').getMap('submitted').set(submittedKey(o.id, 'reflective'), now);
    }
    agreed.set(agreedKey('reflective', REFLECTION_ITEM_ID), { rating: 3, rationale: 'Reflective; hypotheses revised.' });
  }
  rubric.getMap('feedback').set(feedbackKey('overall', 'strengths'), DEMO_FEEDBACK.strengths);
  rubric.getMap('feedback').set(feedbackKey('overall', 'development'), DEMO_FEEDBACK.development);
  deps.store.append(collabDocName(sessionId, 'rubric'), Y.encodeStateAsUpdate(rubric));
  for (const [name, doc] of sheets) deps.store.append(name, Y.encodeStateAsUpdate(doc));
}
