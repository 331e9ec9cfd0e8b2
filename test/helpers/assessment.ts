// Booking assessment days in tests: a short template (phases of a few seconds) and a
// session with a candidate, two actors, a lead observer and an observer.
import type { BookSession, Template } from '../../shared/assessment.ts';
import { NO_ADJUSTMENTS } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { Studio } from '../../server/studio.ts';

/** Practitioner day in miniature: two scenarios, written exercise, reflective conversation. */
export function shortTemplate(seconds = 3, id = `short-${seconds}s`): Omit<Template, 'version'> {
  return {
    id,
    name: 'Short test day',
    level: 'practitioner',
    practice: false,
    scenarioCount: 2,
    phases: [
      { kind: 'briefing', scenario: 1, durationSeconds: seconds, timer: 'hard' },
      { kind: 'scenario', scenario: 1, durationSeconds: seconds, timer: 'hard' },
      { kind: 'briefing', scenario: 2, durationSeconds: seconds, timer: 'hard' },
      { kind: 'scenario', scenario: 2, durationSeconds: seconds, timer: 'hard' },
      { kind: 'writtenExercise', durationSeconds: seconds, timer: 'hard' },
      { kind: 'reflectiveConversation', durationSeconds: seconds, timer: 'soft' },
    ],
  };
}

/** A practitioner template of the given phases (tests shape the day they need). */
export function testTemplate(id: string, name: string, scenarioCount: number, phases: Template['phases']): Omit<Template, 'version'> {
  return { id, name, level: 'practitioner', practice: false, scenarioCount, phases };
}

/** A two-scenario day whose first briefing ends by a hard timer after `seconds`; every later phase waits for the lead. */
export function hardBriefingThenSoft(id: string, name: string, seconds: number): Omit<Template, 'version'> {
  return testTemplate(id, name, 2, [
    { kind: 'briefing', scenario: 1, durationSeconds: seconds, timer: 'hard' },
    { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
    { kind: 'briefing', scenario: 2, durationSeconds: 600, timer: 'soft' },
    { kind: 'scenario', scenario: 2, durationSeconds: 600, timer: 'soft' },
    { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
  ]);
}

export function booking(templateId: string, overrides: Partial<BookSession> = {}): BookSession {
  return {
    title: 'Test assessment',
    templateId,
    scheduledStart: new Date(Date.now() + 60_000).toISOString(),
    candidate: { displayName: 'Casey Candidate', candidateRef: `ref-${Math.random().toString(36).slice(2)}` },
    leadObserver: { displayName: 'Lee Lead' },
    observers: [{ displayName: 'Olu Observer' }],
    actors: [
      { displayName: 'Ada Actor', scenarios: [1] },
      { displayName: 'Ben Actor', scenarios: [2] },
    ],
    moderator: { displayName: 'Mo Moderator' },
    coordinator: { displayName: 'Cora Coordinator' },
    adjustments: NO_ADJUSTMENTS,
    ...overrides,
  };
}

export interface BookedDay {
  sessionId: string;
  participants: Participant[];
  candidate: Participant;
  actor1: Participant;
  actor2: Participant;
  lead: Participant;
  observer: Participant;
  coordinator: Participant;
}

export function bookShortDay(studio: Studio, seconds = 3, overrides: Partial<BookSession> = {}): BookedDay {
  const template = studio.templates.latest(`short-${seconds}s`) ?? studio.templates.saveNewVersion(shortTemplate(seconds));
  return bookDay(studio, template.id, overrides);
}

/** Books a day on any template with the test cast (actor 1 plays scenario 1, actor 2 the rest). */
export function bookDay(studio: Studio, templateId: string, overrides: Partial<BookSession> = {}): BookedDay {
  const { sessionId, participants } = studio.assessment.book(booking(templateId, overrides));
  const one = (role: Participant['role'], index = 0): Participant => participants.filter((p) => p.role === role)[index]!;
  return {
    sessionId,
    participants,
    candidate: one('candidate'),
    actor1: one('actor', 0),
    actor2: one('actor', 1),
    lead: one('leadObserver'),
    observer: one('observer'),
    coordinator: one('coordinator'),
  };
}

/** A day of `seconds`-long phases, started by its lead observer and moved into scenario 1. */
export function bookDayInScenarioOne(studio: Studio, seconds: number): BookedDay {
  const day = bookShortDay(studio, seconds);
  studio.assessment.control(day.lead, { action: 'start' });
  studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 0 });
  return day;
}
