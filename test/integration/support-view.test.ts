// "View as candidate" for support (issue 13): a coordinator reads what the candidate's page shows,
// read-only, without being signed in as the candidate; the look is audited and the candidate is
// told who looked. Nobody else may look.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CandidateSupportView, SupportLook } from '../../shared/support.ts';
import type { Participant } from '../../shared/domain.ts';
import { bookShortDay, type BookedDay } from '../helpers/assessment.ts';
import { signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let day: BookedDay;

beforeAll(async () => {
  studio = await startTestStudio();
  day = bookShortDay(studio, 60);
});

afterAll(async () => {
  await studio.close();
});

async function get(viewer: Participant, path: string): Promise<Response> {
  const sep = path.includes('?') ? '&' : '?';
  return fetch(`${studio.baseUrl}/api${path}${sep}participantId=${viewer.id}`, { headers: { cookie: await signIn(studio, viewer) } });
}

describe('support view of the candidate', () => {
  it('shows the coordinator what the candidate sees, signs nobody in, audits the look and tells the candidate', async () => {
    const res = await get(day.coordinator, `/support/sessions/${day.sessionId}/candidate-view`);
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();
    const view = (await res.json()) as CandidateSupportView;
    expect(view.candidateName).toBe(day.candidate.displayName);
    expect(view.overview).toEqual(studio.assessment.overview(day.candidate));
    expect(view.result.status).toBe('pending');
    // The candidate's overview hides what only observers may know.
    expect(view.overview.scenarios.every((s) => s.actorParticipantId === null && s.character === null)).toBe(true);

    const looked = studio.audit.list(day.sessionId).filter((e) => e.action === 'support.viewed_as_candidate');
    expect(looked).toHaveLength(1);
    expect(looked[0]!.actor?.participantId).toBe(day.coordinator.id);

    const told = (await (await get(day.candidate, '/support/views/mine')).json()) as SupportLook[];
    expect(told).toEqual([{ at: looked[0]!.at, name: day.coordinator.displayName }]);
  });

  it('is the coordinator’s only: the candidate, actor and observers are refused and nothing is audited', async () => {
    const before = studio.audit.list(day.sessionId).filter((e) => e.action === 'support.viewed_as_candidate').length;
    for (const viewer of [day.candidate, day.actor1, day.lead, day.observer]) {
      expect((await get(viewer, `/support/sessions/${day.sessionId}/candidate-view`)).status).toBe(403);
    }
    expect((await get(day.coordinator, '/support/views/mine')).status).toBe(403);
    expect(studio.audit.list(day.sessionId).filter((e) => e.action === 'support.viewed_as_candidate')).toHaveLength(before);
  });
});
