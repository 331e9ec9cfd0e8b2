// The rubric's y-websocket endpoint with raw y-protocols clients: who may connect, what a
// read-only connection cannot do, what bad bytes do (nothing, to anyone else), and that
// accepted updates survive a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { CLOSE_CODES, COLLAB_LIMITS, MESSAGE_SYNC, SYNC_STEP_2, SYNC_UPDATE, collabDocName } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { agreedKey, ratingKey } from '../../shared/rubric.ts';
import { RawCollabClient, collabUrl, mapUpdate, sync } from '../helpers/collab-client.ts';
import { byRole, createSession, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let participants: Participant[];
let rubric: string;
const clients: RawCollabClient[] = [];

beforeAll(async () => {
  studio = await startTestStudio();
  const session = createSession(studio);
  participants = session.participants;
  rubric = collabDocName(session.sessionId, 'rubric');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await studio.close();
});

async function open(role: Participant['role'], doc = rubric): Promise<RawCollabClient> {
  const p = byRole(participants, role);
  const client = new RawCollabClient(collabUrl(studio.baseUrl, doc, p.id), { cookie: await signIn(studio, p) });
  clients.push(client);
  await client.opened;
  return client;
}

async function synced(role: Participant['role']): Promise<RawCollabClient> {
  const client = await open(role);
  await client.synced;
  return client;
}

function serverRubric(): Record<string, unknown> {
  return studio.collab.doc(rubric)?.getMap('ratings').toJSON() ?? {};
}

const id = (role: Participant['role']): string => byRole(participants, role).id;

async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  const started = Date.now();
  const value = await promise;
  expect(Date.now() - started).toBeLessThan(ms);
  return value;
}

describe('who may open the rubric', () => {
  it.each(['candidate', 'actor'] as const)('a %s is refused at connect', async (role) => {
    const client = await open(role);
    expect(await client.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
  });

  it('an unauthenticated connection is refused', async () => {
    const observer = byRole(participants, 'observer');
    const client = new RawCollabClient(collabUrl(studio.baseUrl, rubric, observer.id));
    clients.push(client);
    expect(await client.closed).toMatchObject({ code: CLOSE_CODES.Unauthorized });
  });

  it('another session’s rubric is refused, and unknown documents are not found', async () => {
    const other = createSession(studio);
    const client = await open('observer', collabDocName(other.sessionId, 'rubric'));
    expect(await client.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    for (const bad of ['session%2F..%2F..%2Fetc%2Fpasswd', 'session/not-a-session/rubric', `session/${other.sessionId}/scores`]) {
      const nowhere = await open('observer', bad);
      expect(await nowhere.closed).toMatchObject({ code: CLOSE_CODES.NotFound });
    }
  });

  it('observers write and see each other’s edits; the moderator reads', async () => {
    const a = await synced('observer');
    const b = await synced('leadObserver');
    const moderator = await synced('moderator');
    const key = ratingKey(id('observer'), 1, 'kss-2');
    a.ydoc.getMap('ratings').set(key, 3);
    await expect.poll(() => b.ydoc.getMap('ratings').get(key)).toBe(3);
    await expect.poll(() => moderator.ydoc.getMap('ratings').get(key)).toBe(3);
    expect(serverRubric()).toMatchObject({ [key]: 3 });
  });
});

describe('a read-only connection cannot write', () => {
  it('its Update is rejected and the document is unchanged', async () => {
    await synced('observer');
    const moderator = await synced('moderator');
    const before = Y.encodeStateVector(studio.collab.doc(rubric)!);
    const forged = ratingKey(id('moderator'), 1, 'kss-1');
    moderator.send(sync(SYNC_UPDATE, mapUpdate('ratings', forged, 1)));
    expect(await moderator.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect(serverRubric()).not.toHaveProperty(forged);
    expect(Y.encodeStateVector(studio.collab.doc(rubric)!)).toEqual(before);
    expect(studio.logLines.some((l) => l.msg === 'collab message refused' && l.role === 'moderator')).toBe(true);
  });

  it('its SyncStep2 with new content is rejected; one with nothing new is fine', async () => {
    await synced('observer');
    const quiet = await synced('moderator');
    // A SyncStep2 with what the server already has: accepted silently, connection stays.
    quiet.send(sync(SYNC_STEP_2, Y.encodeStateAsUpdate(quiet.ydoc)));
    const sneaky = await synced('moderator');
    const sneakyKey = ratingKey(id('observer'), 2, 'kss-1');
    sneaky.send(sync(SYNC_STEP_2, mapUpdate('ratings', sneakyKey, 4)));
    expect(await sneaky.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect(serverRubric()).not.toHaveProperty(sneakyKey);
    expect(quiet.ws.readyState).toBe(quiet.ws.OPEN);
  });

  it('awareness for a foreign client ID is rejected (dropped and logged), its own is relayed', async () => {
    const watcher = await synced('observer');
    const speaker = await synced('leadObserver');
    speaker.sendAwareness(777001, { user: 'lead' });
    await expect.poll(() => watcher.awareness.getStates().get(777001)).toEqual({ user: 'lead' });
    speaker.sendAwareness(777002, { user: 'impostor' });
    speaker.sendAwareness(777001, { user: 'lead, still' });
    await expect.poll(() => watcher.awareness.getStates().get(777001)).toEqual({ user: 'lead, still' });
    expect(watcher.awareness.getStates().has(777002)).toBe(false);
    expect(studio.logLines.some((l) => l.msg === 'awareness for another client ID dropped' && l.role === 'leadObserver')).toBe(true);
    // A stock client keeps its connection: only the foreign entry was refused.
    expect(speaker.ws.readyState).toBe(speaker.ws.OPEN);
  });
});

describe('each observer owns their entries', () => {
  const cases: Array<[string, (c: RawCollabClient) => void, number]> = [
    ['another observer’s rating', (c) => c.ydoc.getMap('ratings').set(ratingKey(id('leadObserver'), 1, 'kss-1'), 1), CLOSE_CODES.Forbidden],
    ['an agreed rating (lead observer only)', (c) => c.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 2, rationale: '' }), CLOSE_CODES.Forbidden],
    ['narrative feedback (lead observer only)', (c) => c.ydoc.getMap('feedback').set('overall|strengths', 'x'), CLOSE_CODES.Forbidden],
    ['a rating off the scale', (c) => c.ydoc.getMap('ratings').set(ratingKey(id('observer'), 1, 'kss-1'), 9), CLOSE_CODES.BadRequest],
    ['an unknown section', (c) => c.ydoc.getMap('scores').set(`${id('observer')}|x`, 1), CLOSE_CODES.BadRequest],
    ['a malformed evidence note', (c) => c.ydoc.getMap('notes').set(`${id('observer')}|n1`, { text: '' }), CLOSE_CODES.BadRequest],
  ];
  it.each(cases)('an observer writing %s is refused and nothing changes', async (_name, write, code) => {
    const observer = await synced('observer');
    const before = Y.encodeStateAsUpdate(studio.collab.doc(rubric)!);
    write(observer);
    expect(await observer.closed).toMatchObject({ code });
    expect(Y.encodeStateAsUpdate(studio.collab.doc(rubric)!)).toEqual(before);
  });

  it('ratings are final once the observer submitted the scenario', async () => {
    const observer = await synced('observer');
    observer.ydoc.getMap('ratings').set(ratingKey(id('observer'), 2, 'kss-6'), 2);
    observer.ydoc.getMap('submitted').set(`${id('observer')}|2`, Date.now());
    await expect.poll(() => studio.collab.doc(rubric)?.getMap('submitted').has(`${id('observer')}|2`)).toBe(true);
    observer.ydoc.getMap('ratings').set(ratingKey(id('observer'), 2, 'kss-6'), 4);
    expect(await observer.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/final/) });
    expect(serverRubric()[ratingKey(id('observer'), 2, 'kss-6')]).toBe(2);
  });

  it('the lead observer records agreed ratings and feedback; an observer adds a valid note', async () => {
    const lead = await synced('leadObserver');
    const observer = await synced('observer');
    lead.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 3, rationale: 'Both observers saw warm, purposeful engagement.' });
    lead.ydoc.getMap('feedback').set('overall|strengths', 'Calm, clear explanation of the enquiry.');
    observer.ydoc.getMap('notes').set(`${id('observer')}|n1`, { scenario: 1, atMs: 65_000, domainId: 'kss-2', text: 'Open question about evenings.', createdAt: Date.now() });
    await expect.poll(() => studio.collab.doc(rubric)?.getMap('agreed').get(agreedKey(1, 'kss-1'))).toMatchObject({ rating: 3 });
    await expect.poll(() => (studio.collab.doc(rubric)?.getMap('notes').get(`${id('observer')}|n1`) as { atMs: number } | undefined)?.atMs).toBe(65_000);
    expect(lead.ws.readyState).toBe(lead.ws.OPEN);
    expect(observer.ws.readyState).toBe(observer.ws.OPEN);
  });
});

describe('bad bytes', () => {
  const truncated = (() => {
    const update = mapUpdate('notes', 'x', 'a long enough value to cut in half');
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    encoding.writeVarUint(encoder, SYNC_UPDATE);
    encoding.writeVarUint8Array(encoder, update);
    const whole = encoding.toUint8Array(encoder);
    return whole.slice(0, Math.floor(whole.length / 2));
  })();
  const random = (() => {
    let seed = 12345;
    return Uint8Array.from({ length: 300 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 0xff);
  })();
  const cases: Array<[string, Uint8Array, number]> = [
    ['oversized', new Uint8Array(COLLAB_LIMITS.maxMessageBytes + 10), CLOSE_CODES.MessageTooBig],
    ['truncated', truncated, CLOSE_CODES.BadRequest],
    ['zero-length', new Uint8Array(0), CLOSE_CODES.BadRequest],
    ['random', random, CLOSE_CODES.BadRequest],
    ['sync update of garbage', sync(SYNC_UPDATE, random.slice(0, 64)), CLOSE_CODES.BadRequest],
  ];

  it.each(cases)('a %s message closes only that connection, quickly; the room lives on', async (_name, bytes, code) => {
    const bystander = await synced('leadObserver');
    const offender = await synced('observer');
    const before = JSON.stringify(serverRubric());
    offender.send(bytes);
    expect(await within(2000, offender.closed)).toMatchObject({ code });
    expect(JSON.stringify(serverRubric())).toBe(before);
    const key = ratingKey(id('leadObserver'), 1, `kss-${Math.random()}`);
    bystander.ydoc.getMap('ratings').set(key, 1);
    await expect.poll(() => serverRubric()[key]).toBe(1);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
  });
});

describe('persistence', () => {
  it('accepted edits are in the database before anyone hears of them, and survive a restart', async () => {
    const dataDir = studio.dataDir;
    const writer = await synced('observer');
    const key = ratingKey(id('observer'), 3, 'kss-7');
    writer.ydoc.getMap('ratings').set(key, 4);
    await expect.poll(() => writer.serverView.getMap('ratings').get(key)).toBe(4);
    for (const c of clients) c.close();
    await studio.close();
    studio = await startTestStudio({}, dataDir);
    const reader = await synced('moderator');
    expect(reader.ydoc.getMap('ratings').get(ratingKey(id('observer'), 3, 'kss-7'))).toBe(4);
    expect(reader.ydoc.getMap('ratings').get(ratingKey(id('observer'), 1, 'kss-2'))).toBe(3);
  });
});

describe('heartbeat', () => {
  it('a connection that stops answering pings is closed; one that answers stays', async () => {
    const quick = await startTestStudio({ collabHeartbeatMs: 200 });
    try {
      const session = createSession(quick);
      const observer = byRole(session.participants, 'observer');
      const url = collabUrl(quick.baseUrl, collabDocName(session.sessionId, 'rubric'), observer.id);
      const cookie = await signIn(quick, observer);
      const { default: WebSocket } = await import('ws');
      const dead = new WebSocket(url, { headers: { cookie }, autoPong: false });
      const healthy = new RawCollabClient(url, { cookie });
      const deadClosed = new Promise<number>((resolve) => dead.once('close', (code) => resolve(code)));
      const started = Date.now();
      expect(await deadClosed).toBe(1006);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
      expect(quick.logLines.some((l) => l.msg === 'collab connection missed its heartbeat; closed')).toBe(true);
      healthy.close();
    } finally {
      await quick.close();
    }
  });
});
