// The pre-join check's server side: a result is stored only for the signed-in participant,
// only within its size and rate bounds, and a passed connection step must name a probe the
// server itself saw receive media. (The real browser path is test/e2e/prejoin.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Participant } from '../../shared/domain.ts';
import type { PrejoinInfo, PrejoinResult, ProbeReport, ProbeStartReply, TestCallSummary } from '../../shared/prejoin.ts';
import type { BoardRow } from '../../shared/api.ts';
import { callAs } from '../helpers/moderation.ts';
import { byRole, createSession, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let participants: Participant[];

const failedConnection = (): PrejoinResult => ({
  probeId: null,
  steps: { browser: 'passed', camera: 'passed', microphone: 'passed', speakers: 'passed', connection: 'failed' },
  browser: { name: 'Chrome', version: '131', missing: [] },
  connection: { path: null, tried: [{ path: 'udp', outcome: 'failed' }], rttMs: null, uploadKbps: null },
});

const rowsFor = (participantId: string): Array<{ passed: number; failed_step: string | null }> =>
  studio.db.prepare('SELECT passed, failed_step FROM test_calls WHERE participant_id = ?').all(participantId) as never;

beforeAll(async () => {
  studio = await startTestStudio({ helpContact: 'Jo Bennett, 01632 960123' });
  ({ participants } = createSession(studio));
});

afterAll(async () => {
  await studio?.close();
});

describe('pre-join results', () => {
  it('stores an honest failed result and shows it on the board', async () => {
    const candidate = byRole(participants, 'candidate');
    const stored = await callAs<TestCallSummary>(studio, candidate, 'POST', '/prejoin/result', failedConnection());
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ passed: false, failedStep: 'connection', path: null, browser: 'Chrome 131' });
    expect(rowsFor(candidate.id)).toEqual([{ passed: 0, failed_step: 'connection' }]);

    const info = await callAs<PrejoinInfo>(studio, candidate, 'GET', '/prejoin/info');
    expect(info.body).toMatchObject({ helpContact: 'Jo Bennett, 01632 960123', relayConfigured: false, paths: ['udp', 'tcp'] });
    expect(info.body.last?.failedStep).toBe('connection');

    const board = await callAs<BoardRow[]>(studio, byRole(participants, 'coordinator'), 'GET', '/studio/board');
    const people = board.body.flatMap((r) => r.people);
    expect(people.find((p) => p.participantId === candidate.id)?.testCall).toMatchObject({ passed: false, failedStep: 'connection' });
    expect(people.find((p) => p.role === 'actor')?.testCall).toBeNull();
  });

  it('refuses a passed connection that names no probe the server saw receive media', async () => {
    const actor = byRole(participants, 'actor');
    const forged: PrejoinResult = {
      ...failedConnection(),
      probeId: '00000000-0000-4000-8000-000000000000',
      steps: { ...failedConnection().steps, connection: 'passed' },
      connection: { path: 'udp', tried: [{ path: 'udp', outcome: 'connected' }], rttMs: 12, uploadKbps: 2500 },
    };
    const refused = await callAs(studio, actor, 'POST', '/prejoin/result', forged);
    expect(refused.status).toBe(409);

    // A real probe that never received media does not back a result either.
    const probe = await callAs<ProbeStartReply>(studio, actor, 'POST', '/prejoin/probes', { path: 'udp' });
    expect(probe.status).toBe(201);
    const report = await callAs<ProbeReport>(studio, actor, 'POST', `/prejoin/probes/${probe.body.probeId}/finish`);
    expect(report.body).toEqual({ connected: false, protocol: null, bytesReceived: 0 });
    const unbacked = await callAs(studio, actor, 'POST', '/prejoin/result', { ...forged, probeId: probe.body.probeId });
    expect(unbacked.status).toBe(409);
    expect(rowsFor(actor.id)).toEqual([]);
  });

  it('refuses oversized, malformed and inconsistent results', async () => {
    const observer = byRole(participants, 'observer');
    const huge = { ...failedConnection(), browser: { name: 'x'.repeat(10_000), version: '1', missing: [] } };
    expect((await callAs(studio, observer, 'POST', '/prejoin/result', huge)).status).toBe(413);
    const extra = { ...failedConnection(), scores: { everything: 4 } };
    expect((await callAs(studio, observer, 'POST', '/prejoin/result', extra)).status).toBe(400);
    const lying = { ...failedConnection(), browser: { name: 'Old', version: '1', missing: ['VP8'] } };
    expect((await callAs(studio, observer, 'POST', '/prejoin/result', lying)).status).toBe(400);
    const pathless = { ...failedConnection(), connection: { ...failedConnection().connection, path: 'tcp' } };
    expect((await callAs(studio, observer, 'POST', '/prejoin/result', pathless)).status).toBe(400);
    expect(rowsFor(observer.id)).toEqual([]);
  });

  it('one participant can neither write nor probe as another', async () => {
    const candidate = byRole(participants, 'candidate');
    const actor = byRole(participants, 'actor');
    // The candidate's cookie naming the actor: not signed in as the actor.
    const cookie = await signIn(studio, candidate);
    const asActor = await fetch(`${studio.baseUrl}/api/prejoin/result?participantId=${actor.id}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify(failedConnection()),
    });
    expect(asActor.status).toBe(401);
    expect(rowsFor(actor.id)).toEqual([]);

    // The actor's probe is not the candidate's to use or end.
    const probe = await callAs<ProbeStartReply>(studio, actor, 'POST', '/prejoin/probes', { path: 'tcp' });
    expect(probe.status).toBe(201);
    expect((await callAs(studio, candidate, 'POST', `/prejoin/probes/${probe.body.probeId}/finish`)).status).toBe(404);
    expect((await callAs(studio, actor, 'POST', `/prejoin/probes/${probe.body.probeId}/finish`)).status).toBe(200);
  });

  it('limits how many results one participant stores', async () => {
    const lead = byRole(participants, 'leadObserver');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await callAs(studio, lead, 'POST', '/prejoin/result', failedConnection())).status);
    expect(statuses.slice(0, 10).every((s) => s === 201)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(rowsFor(lead.id)).toHaveLength(10);
  });
});
