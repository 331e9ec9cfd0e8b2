// An actor's signal to the lead observer: it reaches the lead observer's and the coordinator's
// connections (never the candidate's or another session's), is audited, and only actors may
// send it, once every few seconds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LeadSignal } from '../../shared/protocol.ts';
import { bookShortDay, type BookedDay } from '../helpers/assessment.ts';
import { connectAs, rawRequest, request, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let day: BookedDay;
let other: BookedDay;
const sockets = new Map<string, ClientSocket>();
const received = new Map<string, LeadSignal[]>();

async function as(who: BookedDay['lead']): Promise<ClientSocket> {
  const socket = await connectAs(studio, who);
  sockets.set(who.id, socket);
  received.set(who.id, []);
  socket.on('leadSignal', (signal) => received.get(who.id)!.push(signal));
  return socket;
}

beforeAll(async () => {
  studio = await startTestStudio();
  day = bookShortDay(studio, 600);
  other = bookShortDay(studio, 600);
});

afterAll(async () => {
  for (const s of sockets.values()) s.disconnect();
  await studio.close();
});

it('reaches the lead observer and the coordinator only, and is audited', async () => {
  await as(day.lead);
  await as(day.coordinator);
  await as(day.candidate);
  await as(day.observer);
  await as(other.lead);
  const actor = await as(day.actor1);

  const reply = await request(actor, 'signalLead', { kind: 'needPause' });
  expect(reply).toEqual({ ok: true, data: { delivered: 2 } });
  await expect.poll(() => received.get(day.lead.id)!.length).toBe(1);
  await expect.poll(() => received.get(day.coordinator.id)!.length).toBe(1);
  expect(received.get(day.lead.id)![0]).toMatchObject({ kind: 'needPause', from: { participantId: day.actor1.id, displayName: 'Ada Actor', role: 'actor' } });
  // A round trip later, nobody else has heard of it.
  await request(actor, 'clockSync', { clientSentAt: Date.now() });
  for (const who of [day.candidate, day.observer, other.lead]) expect(received.get(who.id), who.role).toEqual([]);
  expect(studio.audit.list(day.sessionId).filter((e) => e.action === 'day.actor_signalled')).toMatchObject([
    { actorParticipantId: day.actor1.id, detail: { kind: 'needPause' } },
  ]);

  // Once every few seconds: a second press at once is refused, and not audited.
  const again = await request(actor, 'signalLead', { kind: 'needPause' });
  expect(again).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
  expect(studio.audit.list(day.sessionId).filter((e) => e.action === 'day.actor_signalled')).toHaveLength(1);
});

it('refuses anyone but an actor, and anything but the known signals', async () => {
  const candidate = sockets.get(day.candidate.id)!;
  expect(await request(candidate, 'signalLead', { kind: 'needPause' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  const actor2 = await as(day.actor2);
  expect(await rawRequest(actor2, 'signalLead', { kind: 'scoreMeHigher' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  expect(await rawRequest(actor2, 'signalLead', { kind: 'ready', note: 'x'.repeat(50) })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  expect(received.get(day.lead.id)).toHaveLength(1);
});
