// The demo session: a practitioner assessment day with one of every role, so that a new user
// can open the links in browser tabs (the lead observer's tab starts and advances the day).
import { NO_ADJUSTMENTS, type BookSession } from '../shared/assessment.ts';
import type { DemoSessionLinks, Participant } from '../shared/domain.ts';
import type { AssessmentService } from './assessment/assessment-service.ts';
import type { Invites } from './invites.ts';

export const DEMO_TITLE = 'Demo — practitioner simulated observation';

export function demoBooking(now = Date.now()): BookSession {
  return {
    title: DEMO_TITLE,
    templateId: 'practitioner',
    scheduledStart: new Date(now + 15 * 60_000).toISOString(),
    candidate: { displayName: 'Sam Carter', candidateRef: `demo-${now}` },
    actors: [{ displayName: 'Alex Morgan', scenarios: [1, 2, 3] }],
    leadObserver: { displayName: 'Priya Shah' },
    observers: [{ displayName: 'Tom Ellis' }],
    moderator: { displayName: 'Helen Price' },
    coordinator: { displayName: 'Jo Bennett' },
    adjustments: NO_ADJUSTMENTS,
  };
}

export function createDemoSession(assessment: AssessmentService): { sessionId: string; participants: Participant[] } {
  return assessment.book(demoBooking());
}

export async function demoLinks(
  invites: Invites,
  baseUrl: string,
  sessionId: string,
  participants: Participant[],
): Promise<DemoSessionLinks> {
  const linksFor = async (role: Participant['role']): Promise<string[]> =>
    Promise.all(participants.filter((p) => p.role === role).map((p) => invites.link(baseUrl, p)));
  const first = async (role: Participant['role']): Promise<string> => {
    const [link] = await linksFor(role);
    if (!link) throw new Error(`demo session has no ${role}`);
    return link;
  };
  return {
    sessionId,
    baseUrl,
    invites: {
      candidate: await first('candidate'),
      actor: await first('actor'),
      leadObserver: await first('leadObserver'),
      observers: await linksFor('observer'),
      moderator: await first('moderator'),
      coordinator: await first('coordinator'),
    },
  };
}
