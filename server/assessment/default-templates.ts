// The templates a new studio starts with (coordinators can author more; editing one saves
// a new version, and a session keeps the version it was booked with).
import type { PhaseSpec, Template } from '../../shared/assessment.ts';

const min = (m: number): number => m * 60;

function scenarioBlock(n: number, briefing: number, scenario: number): PhaseSpec[] {
  return [
    { kind: 'briefing', scenario: n, durationSeconds: briefing, timer: 'hard' },
    { kind: 'scenario', scenario: n, durationSeconds: scenario, timer: 'hard' },
  ];
}

/** DfE design: three ten-minute scenarios about one family, a written exercise on aims for the
 *  third after the first two, a reflective conversation straight after the third. */
export const PRACTITIONER_TEMPLATE: Template = {
  id: 'practitioner',
  version: 1,
  name: 'Practitioner simulated observation',
  level: 'practitioner',
  practice: false,
  scenarioCount: 3,
  phases: [
    ...scenarioBlock(1, min(10), min(10)),
    ...scenarioBlock(2, min(10), min(10)),
    { kind: 'writtenExercise', durationSeconds: min(30), timer: 'hard' },
    ...scenarioBlock(3, min(10), min(10)),
    { kind: 'reflectiveConversation', durationSeconds: min(15), timer: 'soft' },
  ],
};

/** Practice supervisors: three separate cases, one a supervision session. */
export const SUPERVISOR_TEMPLATE: Template = {
  ...PRACTITIONER_TEMPLATE,
  id: 'supervisor',
  name: 'Practice supervisor simulated observation',
  level: 'supervisor',
};

/** A short, unscored rehearsal so candidates can try the technology beforehand. */
export const PRACTICE_TEMPLATE: Template = {
  id: 'practice',
  version: 1,
  name: 'Practice run (unscored)',
  level: 'practitioner',
  practice: true,
  scenarioCount: 1,
  phases: [...scenarioBlock(1, min(2), min(3))],
};

export const DEFAULT_TEMPLATES: Template[] = [PRACTITIONER_TEMPLATE, SUPERVISOR_TEMPLATE, PRACTICE_TEMPLATE];
