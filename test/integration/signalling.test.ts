// Real server, real mediasoup: the signalling boundary refuses bad input with typed errors
// and enforces the media rules, and keeps serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import type { RtpCapabilitiesSchema } from '../../shared/protocol-schemas.ts';
import type { z } from 'zod';
import {
  byRole,
  connectAs,
  createSession,
  joinAndProduceVideo,
  rawRequest,
  request,
  startTestStudio,
  type ClientSocket,
  type TestStudio,
} from '../helpers/studio.ts';

let studio: TestStudio;
const sockets: ClientSocket[] = [];

async function as(participant: Parameters<typeof connectAs>[1]): Promise<ClientSocket> {
  const socket = await connectAs(studio, participant);
  sockets.push(socket);
  return socket;
}

beforeAll(async () => {
  studio = await startTestStudio();
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await studio.close();
});

describe('malformed signalling', () => {
  it('answers each kind of bad payload with a typed error and keeps serving', async () => {
    const { participants } = createSession(studio);
    const socket = await as(byRole(participants, 'candidate'));

    const wrongType = await rawRequest(socket, 'join', { protocolVersion: 'one' });
    expect(wrongType).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });

    const extraField = await rawRequest(socket, 'join', { protocolVersion: PROTOCOL_VERSION, admin: true });
    expect(extraField).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });

    const notAnObject = await rawRequest(socket, 'createTransport', 'send');
    expect(notAnObject).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });

    const oversized = await rawRequest(socket, 'connectTransport', { transportId: 'x', blob: 'a'.repeat(100_000) });
    expect(oversized).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });

    const unknown = await rawRequest(socket, 'deleteEverything', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });

    const beforeJoin = await request(socket, 'createTransport', { direction: 'recv' });
    expect(beforeJoin).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });

    const badVersion = await request(socket, 'join', { protocolVersion: PROTOCOL_VERSION + 1 });
    expect(badVersion).toMatchObject({ ok: false, error: { code: 'PROTOCOL_VERSION_MISMATCH' } });

    // A request without an acknowledgement cannot be answered in place: a protocolError event is.
    const protocolError = new Promise((resolve) => socket.once('protocolError', resolve));
    (socket.emit as unknown as (e: string, p: unknown) => void).call(socket, 'join', { protocolVersion: 1 });
    expect(await protocolError).toMatchObject({ code: 'INVALID_PAYLOAD', event: 'join' });

    // mediasoup itself rejects nonsense that passes the structural schema: typed MEDIA_ERROR.
    expect((await request(socket, 'join', { protocolVersion: PROTOCOL_VERSION })).ok).toBe(true);
    const send = await request(socket, 'createTransport', { direction: 'send' });
    if (!send.ok) throw new Error(send.error.message);
    const badMedia = await request(socket, 'produce', {
      transportId: send.data.id,
      kind: 'video',
      source: 'camera',
      rtpParameters: { codecs: [{ mimeType: 'video/NOPE' }] },
    });
    expect(badMedia).toMatchObject({ ok: false, error: { code: 'MEDIA_ERROR' } });

    // Still serving this socket and the rest of the server.
    const recv = await request(socket, 'createTransport', { direction: 'recv' });
    expect(recv.ok).toBe(true);
    const health = await (await fetch(`${studio.baseUrl}/api/health`)).json();
    expect(health).toMatchObject({ status: 'ok', mediasoup: { workers: 1 } });

    // And each refusal left a log line naming the role and the reason.
    const refusals = studio.logLines.filter((l) => l.msg === 'request refused' && l.participantId === byRole(participants, 'candidate').id);
    expect(refusals.map((l) => l.code)).toEqual(
      expect.arrayContaining(['INVALID_PAYLOAD', 'PAYLOAD_TOO_LARGE', 'UNKNOWN_EVENT', 'NOT_JOINED', 'PROTOCOL_VERSION_MISMATCH', 'MEDIA_ERROR']),
    );
    expect(refusals.every((l) => l.role === 'candidate')).toBe(true);
  });

  it('rate-limits a flood from one socket without affecting another session', async () => {
    const a = createSession(studio);
    const b = createSession(studio);
    const flooder = await as(byRole(a.participants, 'actor'));
    const bystander = await as(byRole(b.participants, 'actor'));
    const results = await Promise.all(Array.from({ length: 80 }, () => request(flooder, 'join', { protocolVersion: 99 })));
    expect(results.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED').length).toBeGreaterThan(0);
    const ok = await request(bystander, 'join', { protocolVersion: PROTOCOL_VERSION });
    expect(ok.ok).toBe(true);
  });
});

describe('media rules on the server', () => {
  it('observers publish nothing and stay invisible to candidate and actor', async () => {
    const { participants } = createSession(studio);
    const candidateP = byRole(participants, 'candidate');
    const lead = byRole(participants, 'leadObserver');
    const observer = byRole(participants, 'observer');

    const candidate = await as(candidateP);
    const received: string[] = [];
    candidate.onAny((event, ...args) => received.push(JSON.stringify([event, args])));
    const candidateJoin = await request(candidate, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!candidateJoin.ok) throw new Error(candidateJoin.error.message);

    const leadSocket = await as(lead);
    const leadJoin = await request(leadSocket, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!leadJoin.ok) throw new Error(leadJoin.error.message);
    expect(leadJoin.data.publishes).toBe(false);
    expect(leadJoin.data.peers.map((p) => p.role)).toContain('candidate');

    const sendTransport = await request(leadSocket, 'createTransport', { direction: 'send' });
    expect(sendTransport).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    const observerSocket = await as(observer);
    expect((await request(observerSocket, 'join', { protocolVersion: PROTOCOL_VERSION })).ok).toBe(true);

    const actor = await as(byRole(participants, 'actor'));
    const actorJoin = await request(actor, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!actorJoin.ok) throw new Error(actorJoin.error.message);
    expect(actorJoin.data.peers.map((p) => p.role)).toEqual(['candidate']);

    // Every notification the server sent the candidate so far has arrived once a request of
    // theirs is answered (one socket delivers in order): look at everything they got.
    await expect.poll(() => received.some((r) => r.includes(byRole(participants, 'actor').id)), { timeout: 10_000 }).toBe(true); // the actor's arrival was announced
    expect((await request(candidate, 'clockSync', { clientSentAt: Date.now() })).ok).toBe(true);
    const everything = JSON.stringify(candidateJoin.data) + received.join('\n');
    for (const hidden of [lead, observer]) {
      expect(everything).not.toContain(hidden.id);
      expect(everything).not.toContain(hidden.displayName);
    }
  });

  it('refuses to consume another session’s producer, an off-stage or unknown producer, and one’s own', async () => {
    const one = createSession(studio);
    const two = createSession(studio);
    const actorOne = await as(byRole(one.participants, 'actor'));
    const actorOneProducer = await joinAndProduceVideo(actorOne, 1111);

    const candidateTwo = await as(byRole(two.participants, 'candidate'));
    const join = await request(candidateTwo, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!join.ok) throw new Error(join.error.message);
    const rtpCapabilities = join.data.routerRtpCapabilities as z.infer<typeof RtpCapabilitiesSchema>;
    expect((await request(candidateTwo, 'createTransport', { direction: 'recv' })).ok).toBe(true);

    const crossSession = await request(candidateTwo, 'consume', { producerId: actorOneProducer, rtpCapabilities });
    expect(crossSession).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const invented = await request(candidateTwo, 'consume', { producerId: 'not-a-producer', rtpCapabilities });
    expect(invented).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    // Inside session one the candidate may consume the actor (the real positive case).
    const candidateOne = await as(byRole(one.participants, 'candidate'));
    const joinOne = await request(candidateOne, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!joinOne.ok) throw new Error(joinOne.error.message);
    expect(joinOne.data.producers.map((p) => p.producerId)).toEqual([actorOneProducer]);
    expect((await request(candidateOne, 'createTransport', { direction: 'recv' })).ok).toBe(true);
    const allowed = await request(candidateOne, 'consume', { producerId: actorOneProducer, rtpCapabilities });
    expect(allowed).toMatchObject({ ok: true, data: { producerId: actorOneProducer, kind: 'video' } });

    const own = await request(actorOne, 'consume', { producerId: actorOneProducer, rtpCapabilities });
    expect(own).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it('when the lead observer is on stage, only the candidate and hidden observers may receive them', async () => {
    const { sessionId, participants } = createSession(studio);
    const actor = await as(byRole(participants, 'actor'));
    const actorJoin = await request(actor, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!actorJoin.ok) throw new Error(actorJoin.error.message);
    const candidate = await as(byRole(participants, 'candidate'));
    expect((await request(candidate, 'join', { protocolVersion: PROTOCOL_VERSION })).ok).toBe(true);

    const room = await studio.rooms.get(sessionId);
    if (!room) throw new Error('no room');
    // The actor leaves the stage: the candidate hears they have gone.
    const actorGone = new Promise((resolve) => candidate.once('peerLeft', resolve));
    room.setStage(new Set([byRole(participants, 'candidate').id, byRole(participants, 'leadObserver').id]));
    expect(await actorGone).toEqual({ participantId: byRole(participants, 'actor').id });

    const lead = await as(byRole(participants, 'leadObserver'));
    const leadProducer = await joinAndProduceVideo(lead, 2222);
    const rtpCapabilities = actorJoin.data.routerRtpCapabilities as z.infer<typeof RtpCapabilitiesSchema>;

    expect((await request(actor, 'join', { protocolVersion: PROTOCOL_VERSION })).ok).toBe(true);
    expect((await request(actor, 'createTransport', { direction: 'recv' })).ok).toBe(true);
    const actorConsume = await request(actor, 'consume', { producerId: leadProducer, rtpCapabilities });
    expect(actorConsume).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Off stage the actor may still send to the server (nobody receives it) but not receive.
    const observerSocket = await as(byRole(participants, 'observer'));
    const observerJoin = await request(observerSocket, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!observerJoin.ok) throw new Error(observerJoin.error.message);
    expect(observerJoin.data.producers.map((p) => p.participantId)).toEqual([byRole(participants, 'leadObserver').id]);

    const candidateRejoin = await request(candidate, 'join', { protocolVersion: PROTOCOL_VERSION });
    if (!candidateRejoin.ok) throw new Error(candidateRejoin.error.message);
    expect(candidateRejoin.data.producers.map((p) => p.producerId)).toEqual([leadProducer]);
    expect((await request(candidate, 'createTransport', { direction: 'recv' })).ok).toBe(true);
    expect((await request(candidate, 'consume', { producerId: leadProducer, rtpCapabilities })).ok).toBe(true);
  });
});
