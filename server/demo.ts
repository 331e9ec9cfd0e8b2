// The demo session: one of every role, so a new user can open the links in browser tabs.
import type { DemoSessionLinks, NewSession, Participant } from '../shared/domain.ts';
import type { SessionsRepo } from './db/sessions-repo.ts';
import type { Invites } from './invites.ts';

export const DEMO_SESSION: NewSession = {
  title: 'Demo — practitioner simulated observation',
  level: 'practitioner',
  participants: [
    { role: 'candidate', displayName: 'Sam Carter' },
    { role: 'actor', displayName: 'Alex Morgan' },
    { role: 'leadObserver', displayName: 'Priya Shah' },
    { role: 'observer', displayName: 'Tom Ellis' },
    { role: 'moderator', displayName: 'Grace Okafor' },
    { role: 'coordinator', displayName: 'Jo Bennett' },
  ],
};

export function createDemoSession(sessions: SessionsRepo): { sessionId: string; participants: Participant[] } {
  const { session, participants } = sessions.create(DEMO_SESSION);
  return { sessionId: session.id, participants };
}

export async function demoLinks(
  invites: Invites,
  baseUrl: string,
  sessionId: string,
  participants: Participant[],
): Promise<DemoSessionLinks> {
  const linkFor = async (role: Participant['role']): Promise<string[]> =>
    Promise.all(participants.filter((p) => p.role === role).map((p) => invites.link(baseUrl, p)));
  const first = async (role: Participant['role']): Promise<string> => {
    const [link] = await linkFor(role);
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
      observers: await linkFor('observer'),
      moderator: await first('moderator'),
      coordinator: await first('coordinator'),
    },
  };
}
