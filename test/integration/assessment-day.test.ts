// The assessment day on a real server: timers advance by themselves, only the lead observer
// (or a coordinator) controls the day, media follows the phase, and each role reads only
// the scenario content it may.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DayState } from '../../shared/assessment.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import type { Participant } from '../../shared/domain.ts';
import { bookShortDay, booking, shortTemplate } from '../helpers/assessment.ts';
import { connectAs, joinAndProduceVideo, rawRequest, request, signIn, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  studio = await startTestStudio();
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await studio.close();
});

async function as(p: Participant): Promise<ClientSocket> {
  const s = await connectAs(studio, p);
  sockets.push(s);
  return s;
}

function nextDayState(socket: ClientSocket, accept: (s: DayState) => boolean = () => true): Promise<DayState> {
  return new Promise((resolve) => {
    const on = (state: DayState): void => {
      if (!accept(state)) return;
      socket.off('dayState', on);
      resolve(state);
    };
    socket.on('dayState', on);
  });
}

async function get(p: Participant, path: string): Promise<Response> {
  return fetch(`${studio.baseUrl}/api${path}${path.includes('?') ? '&' : '?'}participantId=${p.id}`, {
    headers: { cookie: await signIn(studio, p) },
  });
}

describe('running the day', () => {
  it('hard timers advance on their own; the soft reflective conversation waits for the lead observer', async () => {
    const day = bookShortDay(studio, 1);
    const lead = await as(day.lead);
    const candidate = await as(day.candidate);
    const reachedReflective = nextDayState(candidate, (s) => s.phases[s.phaseIndex]?.kind === 'reflectiveConversation');
    const started = await request(lead, 'dayControl', { action: 'start' });
    expect(started).toMatchObject({ ok: true, data: { status: 'running', phaseIndex: 0 } });
    const reflective = await reachedReflective;
    expect(reflective.phaseIndex).toBe(5);
    // Well past its deadline on the server's clock, and after a round trip through the server
    // (a timer due by then would have run first): still there (soft), until the lead observer
    // advances.
    await expect.poll(() => Date.now() > reflective.deadline! + 1000, { timeout: 10_000, interval: 100 }).toBe(true);
    expect((await request(candidate, 'clockSync', { clientSentAt: Date.now() })).ok).toBe(true);
    expect(studio.assessment.dayState(day.sessionId)).toMatchObject({ status: 'running', phaseIndex: 5 });
    const done = await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 5 });
    expect(done).toMatchObject({ ok: true, data: { status: 'complete' } });
    const actions = studio.audit.list(day.sessionId).map((e) => e.action);
    expect(actions.filter((a) => a === 'day.timer').length).toBeGreaterThanOrEqual(1);
    expect(actions).toEqual(expect.arrayContaining(['session.booked', 'day.start', 'day.advance']));
  });

  it('pause freezes, extend adds time with a reason, and both are audited with who and why', async () => {
    const day = bookShortDay(studio, 600);
    const lead = await as(day.lead);
    await request(lead, 'dayControl', { action: 'start' });
    const paused = await request(lead, 'dayControl', { action: 'pause', reason: 'candidate connection dropped' });
    if (!paused.ok) throw new Error(paused.error.message);
    await new Promise((r) => setTimeout(r, 300));
    const resumed = await request(lead, 'dayControl', { action: 'resume' });
    if (!resumed.ok) throw new Error(resumed.error.message);
    expect(resumed.data.deadline! - paused.data.deadline!).toBeGreaterThanOrEqual(300);
    const extended = await request(lead, 'dayControl', { action: 'extend', seconds: 60, reason: 'fire alarm' });
    if (!extended.ok) throw new Error(extended.error.message);
    expect(extended.data.deadline! - resumed.data.deadline!).toBe(60_000);
    const log = studio.audit.list(day.sessionId);
    expect(log.find((e) => e.action === 'day.pause')).toMatchObject({ actorParticipantId: day.lead.id, detail: { reason: 'candidate connection dropped' } });
    expect(log.find((e) => e.action === 'day.extend')).toMatchObject({ detail: { seconds: 60, reason: 'fire alarm', role: 'leadObserver' } });
  });

  it('refuses control from anyone else and out-of-order actions, leaving the day as it was', async () => {
    const day = bookShortDay(studio, 600);
    const lead = await as(day.lead);
    for (const who of [day.candidate, day.actor1, day.observer]) {
      const socket = await as(who);
      expect(await request(socket, 'dayControl', { action: 'start' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    expect(await request(lead, 'dayControl', { action: 'resume' })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await rawRequest(lead, 'dayControl', { action: 'teleport' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(lead, 'dayControl', { action: 'start' })).toMatchObject({ ok: true });
    expect(await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 3 })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(studio.assessment.dayState(day.sessionId)).toMatchObject({ status: 'running', phaseIndex: 0 });
    // A coordinator may run the day too.
    const coordinator = await as(day.coordinator);
    expect(await request(coordinator, 'dayControl', { action: 'advance', fromPhaseIndex: 0 })).toMatchObject({ ok: true, data: { phaseIndex: 1 } });
  });

  it('clock sync answers with the server clock', async () => {
    const day = bookShortDay(studio, 600);
    const socket = await as(day.candidate);
    const before = Date.now();
    const reply = await request(socket, 'clockSync', { clientSentAt: before });
    if (!reply.ok) throw new Error(reply.error.message);
    expect(reply.data.serverNow).toBeGreaterThanOrEqual(before);
    expect(reply.data.serverNow).toBeLessThanOrEqual(Date.now());
  });
});

describe('media follows the phase', () => {
  it('nobody receives anyone in a briefing; candidate and that scenario’s actor in a scenario; the lead observer in the reflective conversation', async () => {
    const day = bookShortDay(studio, 600);
    const lead = await as(day.lead);
    const observer = await as(day.observer);
    const people = { candidate: await as(day.candidate), actor1: await as(day.actor1), actor2: await as(day.actor2) };
    const producerOf = new Map<string, string>();
    let ssrc = 5000;
    for (const [name, socket] of Object.entries(people)) {
      // Candidates and actors send all day; the server decides who receives them.
      producerOf.set(await joinAndProduceVideo(socket, ssrc++), name);
    }
    const reproduce = async (): Promise<void> => {
      producerOf.clear();
      for (const [name, socket] of Object.entries(people)) producerOf.set(await joinAndProduceVideo(socket, ssrc++), name);
    };
    /** Whom `socket` may receive now, by name. (A join resets the joiner's own media, so
     *  everyone sends afresh first.) */
    const receives = async (socket: ClientSocket): Promise<string[]> => {
      await reproduce();
      const r = await request(socket, 'join', { protocolVersion: PROTOCOL_VERSION });
      if (!r.ok) throw new Error(r.error.message);
      return r.data.producers.map((p) => producerOf.get(p.producerId) ?? `lead:${p.participantId === day.lead.id}`).sort();
    };
    const advance = async (from: number): Promise<void> => {
      expect(await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: from })).toMatchObject({ ok: true });
    };

    expect(await receives(people.candidate)).toEqual([]); // waiting room
    expect(await receives(observer)).toEqual([]);
    await request(lead, 'dayControl', { action: 'start' }); // briefing 1
    expect(await receives(people.candidate)).toEqual([]);
    await advance(0); // scenario 1
    expect(await receives(people.candidate)).toEqual(['actor1']);
    expect(await receives(people.actor1)).toEqual(['candidate']);
    expect(await receives(people.actor2)).toEqual([]);
    expect(await receives(observer)).toEqual(['actor1', 'candidate']);
    await advance(1); // briefing 2
    await advance(2); // scenario 2
    expect(await receives(people.candidate)).toEqual(['actor2']);
    expect(await receives(people.actor1)).toEqual([]);
    await advance(3); // written exercise
    expect(await receives(people.candidate)).toEqual([]);
    expect(await receives(observer)).toEqual([]);
    await advance(4); // reflective conversation: the lead observer may now send
    await reproduce();
    const leadProducer = await joinAndProduceVideo(lead, 9999);
    const candidateJoin = await request(people.candidate, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!candidateJoin.ok) throw new Error(candidateJoin.error.message);
    expect(candidateJoin.data.producers.map((p) => p.producerId)).toEqual([leadProducer]);
    expect(candidateJoin.data.peers.map((p) => p.role)).toEqual(['leadObserver']);
    const actorJoin = await request(people.actor1, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!actorJoin.ok) throw new Error(actorJoin.error.message);
    expect(actorJoin.data.producers).toEqual([]);
  });

  it('a stage change tells each client exactly what changed for them, without resetting the others', async () => {
    const day = bookShortDay(studio, 600);
    const lead = await as(day.lead);
    const candidate = await as(day.candidate);
    const actor1 = await as(day.actor1);
    await request(lead, 'dayControl', { action: 'start' });
    const actorProducer = await joinAndProduceVideo(actor1, 7001);
    await joinAndProduceVideo(candidate, 7002);
    const events: string[] = [];
    candidate.onAny((event: string) => events.push(event));
    const announced = new Promise((resolve) => candidate.on('newProducer', (p) => p.producerId === actorProducer && resolve(p)));
    await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 }); // scenario 1
    expect(await announced).toMatchObject({ participantId: day.actor1.id, kind: 'video' });
    expect(events).not.toContain('mediaReset');
  });
});

describe('who reads what', () => {
  it('candidates read only candidate briefings once briefed; actors only their own brief; other sessions nothing', async () => {
    const day = bookShortDay(studio, 600);
    const other = bookShortDay(studio, 600);
    const sid = day.sessionId;
    const status = async (p: Participant, path: string): Promise<number> => (await get(p, path)).status;

    expect(await status(day.candidate, `/sessions/${sid}/scenarios/1/candidateBriefing`)).toBe(403); // not yet
    const lead = await as(day.lead);
    await request(lead, 'dayControl', { action: 'start' });
    const briefing = await get(day.candidate, `/sessions/${sid}/scenarios/1/candidateBriefing`);
    expect(briefing.status).toBe(200);
    expect(((await briefing.json()) as { markdown: string }).markdown.length).toBeGreaterThan(50);
    expect(await status(day.candidate, `/sessions/${sid}/scenarios/2/candidateBriefing`)).toBe(403);
    expect(await status(day.candidate, `/sessions/${sid}/scenarios/1/actorBrief`)).toBe(403);
    expect(await status(day.candidate, `/sessions/${sid}/scenarios/1/observerGuidance`)).toBe(403);
    expect(await status(day.candidate, `/sessions/${other.sessionId}/scenarios/1/candidateBriefing`)).toBe(403);
    expect(await status(day.candidate, `/sessions/${other.sessionId}/overview`)).toBe(403);

    expect(await status(day.actor1, `/sessions/${sid}/scenarios/1/actorBrief`)).toBe(200);
    expect(await status(day.actor1, `/sessions/${sid}/scenarios/2/actorBrief`)).toBe(403);
    expect(await status(day.actor2, `/sessions/${sid}/scenarios/1/actorBrief`)).toBe(403);
    expect(await status(day.actor1, `/sessions/${sid}/scenarios/1/observerGuidance`)).toBe(403);
    expect(await status(day.actor1, `/sessions/${sid}/scenarios/1/candidateBriefing`)).toBe(403);

    for (const kind of ['actorBrief', 'observerGuidance', 'candidateBriefing']) {
      expect(await status(day.observer, `/sessions/${sid}/scenarios/2/${kind}`)).toBe(200);
    }
    // The actor's overview lists only the scenario they play; the candidate's names no actor.
    const actorView = (await (await get(day.actor1, `/sessions/${sid}/overview`)).json()) as { scenarios: Array<{ number: number }> };
    expect(actorView.scenarios.map((s) => s.number)).toEqual([1]);
    const observerView = (await (await get(day.observer, `/sessions/${sid}/overview`)).json()) as { scoredDomains: string[] };
    expect(observerView.scoredDomains).toEqual(['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9']);
    const candidateView = JSON.stringify(await (await get(day.candidate, `/sessions/${sid}/overview`)).json());
    expect(candidateView).not.toContain(day.actor1.id);
    expect(candidateView).not.toContain(day.lead.id);
  });
});

describe('the studio (coordinator)', () => {
  it('books a session by API with a recorded random draw that avoids scenarios the candidate sat', async () => {
    const day = bookShortDay(studio, 600);
    const cookie = await signIn(studio, day.coordinator);
    const post = async (path: string, body: unknown): Promise<Response> =>
      fetch(`${studio.baseUrl}/api${path}?participantId=${day.coordinator.id}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const first = await post('/studio/sessions', booking('practitioner', {
      candidate: { displayName: 'Retake Rita', candidateRef: 'REG-42' },
      actors: [{ displayName: 'One Actor', scenarios: [1, 2, 3] }],
    }));
    expect(first.status).toBe(201);
    const { sessionId, invites } = (await first.json()) as { sessionId: string; invites: Array<{ role: string; link: string }> };
    expect(invites.map((i) => i.role).sort()).toEqual(['actor', 'candidate', 'coordinator', 'leadObserver', 'moderator', 'observer']);
    const firstDraw = studio.assessment.plans.slots(sessionId).map((s) => s.scenarioId);
    expect(firstDraw).toHaveLength(3);
    expect(studio.audit.list(sessionId).find((e) => e.action === 'session.booked')?.detail.draw).toEqual(firstDraw);

    const retake = await post('/studio/sessions', booking('practitioner', {
      candidate: { displayName: 'Retake Rita', candidateRef: 'REG-42' },
      actors: [{ displayName: 'One Actor', scenarios: [1, 2, 3] }],
    }));
    expect(retake.status).toBe(201);
    const retakeDraw = studio.assessment.plans.slots(((await retake.json()) as { sessionId: string }).sessionId).map((s) => s.scenarioId);
    expect(retakeDraw.filter((id) => firstDraw.includes(id))).toEqual([]);

    // Everything sat: a third booking is refused with a reason, nothing half-saved.
    const sessionsBefore = studio.sessions.listSessions().length;
    const third = await post('/studio/sessions', booking('practitioner', {
      candidate: { displayName: 'Retake Rita', candidateRef: 'REG-42' },
      actors: [{ displayName: 'One Actor', scenarios: [1, 2, 3] }],
    }));
    expect(third.status).toBe(409);
    expect(((await third.json()) as { error: { message: string } }).error.message).toMatch(/not sat/);
    expect(studio.sessions.listSessions().length).toBe(sessionsBefore);
  });

  it('refuses invalid templates and non-coordinators with clear errors', async () => {
    const day = bookShortDay(studio, 600);
    const cookie = await signIn(studio, day.coordinator);
    const bad = { ...shortTemplate(5, 'broken'), phases: [{ kind: 'scenario', scenario: 1, durationSeconds: 5, timer: 'hard' }] };
    const res = await fetch(`${studio.baseUrl}/api/studio/templates?participantId=${day.coordinator.id}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify(bad),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/needs its briefing first/);
    expect(studio.templates.latest('broken')).toBeUndefined();

    const asLead = await get(day.lead, '/studio/board');
    expect(asLead.status).toBe(403);
    const board = await get(day.coordinator, '/studio/board');
    expect(board.status).toBe(200);
  });
});
