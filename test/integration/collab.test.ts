// The rubric's y-websocket endpoint with raw y-protocols clients: who may open which document,
// independent scoring (nobody else receives a byte of a sheet before it is submitted), what a
// forger can send (nothing that lands), what bad bytes do (nothing, to anyone else), bounds,
// and that accepted updates survive a restart.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import {
  CLOSE_CODES,
  COLLAB_LIMITS,
  MESSAGE_SYNC,
  SYNC_STEP_2,
  SYNC_UPDATE,
  collabDocName,
  sheetDocName,
  type SheetScenario,
} from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { RUBRIC_LIMITS, agreedKey, noteKey, ratingKey, submittedKey } from '../../shared/rubric.ts';
import { RawCollabClient, collabUrl, mapUpdate, sync } from '../helpers/collab-client.ts';
import { holdWriteLock } from '../helpers/postgres.ts';
import { byRole, createSession, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let participants: Participant[];
let sessionId: string;
const clients: RawCollabClient[] = [];

const SESSION = {
  title: 'Co-scoring integrity',
  level: 'practitioner' as const,
  participants: [
    { role: 'candidate' as const, displayName: 'Sam Carter' },
    { role: 'actor' as const, displayName: 'Alex Morgan' },
    { role: 'leadObserver' as const, displayName: 'Priya Shah' },
    { role: 'observer' as const, displayName: 'Tom Ellis' },
    { role: 'observer' as const, displayName: 'Ana Silva' },
    { role: 'moderator' as const, displayName: 'Helen Price' },
    { role: 'coordinator' as const, displayName: 'Jo Bennett' },
  ],
};

beforeAll(async () => {
  studio = await startTestStudio();
  const session = createSession(studio, SESSION);
  participants = session.participants;
  sessionId = session.sessionId;
});
afterAll(async () => {
  for (const c of clients) c.close();
  await studio.close();
});

const lead = (): Participant => byRole(participants, 'leadObserver');
const observers = (): Participant[] => participants.filter((p) => p.role === 'observer');
const tom = (): Participant => observers()[0]!;
const ana = (): Participant => observers()[1]!;
const rubric = (): string => collabDocName(sessionId, 'rubric');
const sheet = (owner: Participant, scenario: SheetScenario = 1): string => sheetDocName(sessionId, owner.id, scenario);

async function open(who: Participant | Participant['role'], doc: string, headers: Record<string, string> = {}): Promise<RawCollabClient> {
  const p = typeof who === 'string' ? byRole(participants, who) : who;
  const client = new RawCollabClient(collabUrl(studio.baseUrl, doc, p.id), { cookie: await signIn(studio, p), ...headers });
  clients.push(client);
  await client.opened;
  return client;
}

async function synced(who: Participant | Participant['role'], doc: string): Promise<RawCollabClient> {
  const client = await open(who, doc);
  await client.synced;
  return client;
}

/** The server's live copy of a document's section. */
const onServer = (doc: string, section: string): Record<string, unknown> => studio.collab.doc(doc)?.getMap(section).toJSON() ?? {};

/** Every byte a raw socket receives. */
function recordBytes(client: RawCollabClient): () => Uint8Array[] {
  const seen: Uint8Array[] = [];
  client.ws.on('message', (data: Buffer) => seen.push(new Uint8Array(data)));
  return () => seen;
}

const contains = (haystack: Uint8Array, needle: string): boolean => Buffer.from(haystack).includes(Buffer.from(needle, 'utf8'));

describe('who may open which document', () => {
  it.each(['candidate', 'actor'] as const)('a %s is refused at connect, on the lead document and on any sheet', async (role) => {
    for (const doc of [rubric(), sheet(tom()), sheet(lead(), 'reflective')]) {
      const client = await open(role, doc);
      expect(await client.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    }
  });

  it('an unauthenticated connection is refused', async () => {
    const client = new RawCollabClient(collabUrl(studio.baseUrl, sheet(tom()), tom().id));
    clients.push(client);
    expect(await client.closed).toMatchObject({ code: CLOSE_CODES.Unauthorized });
  });

  it('another session’s documents are refused; unknown documents and sheets of non-scorers are not opened', async () => {
    const other = createSession(studio);
    const elsewhere = await open(tom(), collabDocName(other.sessionId, 'rubric'));
    expect(await elsewhere.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    for (const bad of ['session%2F..%2F..%2Fetc%2Fpasswd', 'session/not-a-session/rubric', `session/${sessionId}/scores`, `session/${sessionId}/sheet/${tom().id}/4`]) {
      const nowhere = await open(tom(), bad);
      expect(await nowhere.closed).toMatchObject({ code: CLOSE_CODES.NotFound });
    }
    const moderatorSheet = await open(tom(), sheetDocName(sessionId, byRole(participants, 'moderator').id, 1));
    expect(await moderatorSheet.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
  });

  it('a foreign Origin cannot open a WebSocket (cross-site hijacking); the studio’s own can', async () => {
    const p = tom();
    const cookie = await signIn(studio, p);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(collabUrl(studio.baseUrl, sheet(p), p.id), { headers: { cookie, origin: 'https://evil.example' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(403);
    const own = await synced(p, sheet(p, 2));
    expect(own.ws.readyState).toBe(own.ws.OPEN);
    const ours = new RawCollabClient(collabUrl(studio.baseUrl, sheet(p, 2), p.id), { cookie, origin: new URL(studio.baseUrl).origin });
    clients.push(ours);
    await ours.synced;
  });
});

describe('independent scoring: a sheet reaches nobody else before it is submitted', () => {
  it('the lead observer and a co-observer receive not a byte of an unsubmitted sheet; both get it all on submission; the moderator reads', async () => {
    const owner = await synced(tom(), sheet(tom(), 3));
    const marker = 'unsubmitted-evidence-marker';
    owner.ydoc.getMap('ratings').set(ratingKey(tom().id, 3, 'kss-1'), 2);
    owner.ydoc.getMap('notes').set(noteKey(tom().id, 'n-private'), { scenario: 3, atMs: 1000, domainId: null, text: marker, createdAt: Date.now() });
    await expect.poll(() => owner.serverView.getMap('notes').size).toBe(1);

    const leadReader = await open(lead(), sheet(tom(), 3));
    const coReader = await open(ana(), sheet(tom(), 3));
    const leadBytes = recordBytes(leadReader);
    const coBytes = recordBytes(coReader);
    await Promise.all([leadReader.synced, coReader.synced]);
    // More edits while they wait: still nothing reaches them.
    owner.ydoc.getMap('ratings').set(ratingKey(tom().id, 3, 'kss-2'), 3);
    await expect.poll(() => owner.serverView.getMap('ratings').size).toBe(2);
    const moderator = await synced('moderator', sheet(tom(), 3));
    expect(moderator.ydoc.getMap('notes').size).toBe(1);
    for (const reader of [leadReader, coReader]) {
      expect(reader.ydoc.getMap('ratings').size).toBe(0);
      expect(reader.ydoc.getMap('notes').size).toBe(0);
    }
    for (const bytes of [...leadBytes(), ...coBytes()]) {
      expect(contains(bytes, marker)).toBe(false);
      expect(bytes.length).toBeLessThan(8); // greeting (empty state vector) and an empty SyncStep2 only
    }

    owner.ydoc.getMap('submitted').set(submittedKey(tom().id, 3), Date.now());
    for (const reader of [leadReader, coReader]) {
      await expect.poll(() => reader.ydoc.getMap('ratings').toJSON()).toEqual({
        [ratingKey(tom().id, 3, 'kss-1')]: 2,
        [ratingKey(tom().id, 3, 'kss-2')]: 3,
      });
      expect(reader.ydoc.getMap('submitted').has(submittedKey(tom().id, 3))).toBe(true);
    }
    expect(leadBytes().some((b) => contains(b, marker))).toBe(true);
  });

  it('a withheld reader cannot write into the sheet', async () => {
    const intruder = await synced(ana(), sheet(tom(), 2));
    intruder.send(sync(SYNC_UPDATE, mapUpdate('ratings', ratingKey(tom().id, 2, 'kss-1'), 1)));
    expect(await intruder.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect(onServer(sheet(tom(), 2), 'ratings')).not.toHaveProperty(ratingKey(tom().id, 2, 'kss-1'));
  });
});

describe('forging (issue 11, row 2): no struct lands under another author', () => {
  it('an observer sends a struct under the lead’s client ID one clock ahead into the lead document: refused, and the lead’s next edit does not integrate it', async () => {
    const leadClient = await synced(lead(), rubric());
    leadClient.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 3, rationale: 'agreed after discussion' });
    await expect.poll(() => onServer(rubric(), 'agreed')[agreedKey(1, 'kss-1')]).toMatchObject({ rating: 3 });

    // The forger builds the lead's history with a gap: a struct at the lead's next clock + 1.
    const forger = await synced(tom(), rubric());
    const forged = new Y.Doc();
    forged.clientID = leadClient.ydoc.clientID;
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(leadClient.ydoc));
    forged.getMap('agreed').set(agreedKey(1, 'kss-2'), { rating: 1, rationale: 'filler, never sent' });
    const afterFiller = Y.encodeStateVector(forged);
    forged.getMap('agreed').set(agreedKey(1, 'kss-6'), { rating: 1, rationale: 'forged' });
    const gap = Y.encodeStateAsUpdate(forged, afterFiller);
    forger.send(sync(SYNC_UPDATE, gap));
    expect(await forger.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });

    leadClient.ydoc.getMap('agreed').set(agreedKey(1, 'kss-2'), { rating: 3, rationale: 'the lead’s own' });
    await expect.poll(() => onServer(rubric(), 'agreed')[agreedKey(1, 'kss-2')]).toMatchObject({ rationale: 'the lead’s own' });
    expect(onServer(rubric(), 'agreed')).not.toHaveProperty(agreedKey(1, 'kss-6'));
    expect(studio.collab.doc(rubric())!.store.pendingStructs).toBeNull();
  });

  it('even the lead observer cannot leave a struct pending (a clock gap) in the lead document', async () => {
    const leadClient = await synced(lead(), rubric());
    const mine = new Y.Doc();
    mine.getMap('agreed').set(agreedKey(2, 'kss-1'), { rating: 2, rationale: 'first' });
    const sv = Y.encodeStateVector(mine);
    mine.getMap('agreed').set(agreedKey(2, 'kss-2'), { rating: 2, rationale: 'second' });
    leadClient.send(sync(SYNC_UPDATE, Y.encodeStateAsUpdate(mine, sv))); // the second without the first
    expect(await leadClient.closed).toMatchObject({ code: CLOSE_CODES.BadRequest, reason: expect.stringMatching(/skips/) });
    expect(studio.collab.doc(rubric())!.store.pendingStructs).toBeNull();
    expect(onServer(rubric(), 'agreed')).not.toHaveProperty(agreedKey(2, 'kss-2'));
  });

  it('an update whose origin the server does not have is refused, not kept pending', async () => {
    const owner = await synced(ana(), sheet(ana(), 2));
    const elsewhere = new Y.Doc();
    elsewhere.getMap('ratings').set(ratingKey(ana().id, 2, 'kss-1'), 1);
    const sv = Y.encodeStateVector(elsewhere);
    const overwrite = new Y.Doc();
    overwrite.clientID = owner.ydoc.clientID;
    Y.applyUpdate(overwrite, Y.encodeStateAsUpdate(elsewhere));
    overwrite.getMap('ratings').set(ratingKey(ana().id, 2, 'kss-1'), 4); // origin: a struct the server never saw
    owner.send(sync(SYNC_UPDATE, Y.encodeStateAsUpdate(overwrite, sv)));
    expect(await owner.closed).toMatchObject({ code: CLOSE_CODES.BadRequest });
    expect(onServer(sheet(ana(), 2), 'ratings')).toEqual({});
    expect(studio.collab.doc(sheet(ana(), 2))?.store.pendingStructs ?? null).toBeNull();
  });

  const refusals: Array<[string, (c: RawCollabClient) => void, number]> = [
    ['another observer’s rating', (c) => c.ydoc.getMap('ratings').set(ratingKey(lead().id, 1, 'kss-1'), 1), CLOSE_CODES.Forbidden],
    ['a rating of another scenario', (c) => c.ydoc.getMap('ratings').set(ratingKey(tom().id, 2, 'kss-1'), 1), CLOSE_CODES.BadRequest],
    ['an agreed rating (lead document only)', (c) => c.ydoc.getMap('agreed').set(agreedKey(1, 'kss-1'), { rating: 2, rationale: '' }), CLOSE_CODES.Forbidden],
    ['a rating off the scale', (c) => c.ydoc.getMap('ratings').set(ratingKey(tom().id, 1, 'kss-1'), 9), CLOSE_CODES.BadRequest],
    ['a rating of an unknown domain', (c) => c.ydoc.getMap('ratings').set(ratingKey(tom().id, 1, 'kss-99'), 3), CLOSE_CODES.BadRequest],
    ['an unknown section', (c) => c.ydoc.getMap('scores').set(`${tom().id}|x`, 1), CLOSE_CODES.BadRequest],
    ['a malformed evidence note', (c) => c.ydoc.getMap('notes').set(noteKey(tom().id, 'n1'), { text: '' }), CLOSE_CODES.BadRequest],
    ['a note of another scenario', (c) => c.ydoc.getMap('notes').set(noteKey(tom().id, 'n2'), { scenario: 2, atMs: 1, domainId: null, text: 'x', createdAt: 1 }), CLOSE_CODES.BadRequest],
    ['a nested shared type', (c) => c.ydoc.getMap('ratings').set(ratingKey(tom().id, 1, 'kss-2'), new Y.Map()), CLOSE_CODES.BadRequest],
    ['text at the top level', (c) => c.ydoc.getText('ratings').insert(0, 'hello'), CLOSE_CODES.BadRequest],
    ['a very long key', (c) => c.ydoc.getMap('notes').set(`${tom().id}|${'n'.repeat(RUBRIC_LIMITS.maxKeyChars)}`, 1), CLOSE_CODES.BadRequest],
  ];
  it.each(refusals)('an observer writing %s into their own sheet is refused and nothing changes', async (_name, write, code) => {
    const doc = sheet(tom(), 1);
    const observer = await synced(tom(), doc);
    const before = studio.collab.doc(doc) ? Y.encodeStateAsUpdate(studio.collab.doc(doc)!) : null;
    write(observer);
    expect(await observer.closed).toMatchObject({ code });
    if (before) expect(Y.encodeStateAsUpdate(studio.collab.doc(doc)!)).toEqual(before);
  });

  it('an observer cannot write the lead document at all', async () => {
    const observer = await synced(tom(), rubric());
    observer.ydoc.getMap('feedback').set('overall|strengths', 'x');
    expect(await observer.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect(onServer(rubric(), 'feedback')).not.toHaveProperty('overall|strengths');
  });
});

describe('a submitted sheet is final (row 3)', () => {
  it('deleting one’s own submission is refused; so is re-rating; the submission stays', async () => {
    const doc = sheet(ana(), 3);
    const observer = await synced(ana(), doc);
    observer.ydoc.getMap('ratings').set(ratingKey(ana().id, 3, 'kss-6'), 2);
    observer.ydoc.getMap('submitted').set(submittedKey(ana().id, 3), Date.now());
    await expect.poll(() => onServer(doc, 'submitted')).toHaveProperty(submittedKey(ana().id, 3));
    observer.ydoc.getMap('submitted').delete(submittedKey(ana().id, 3));
    expect(await observer.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/final/) });

    const again = await synced(ana(), doc);
    again.ydoc.getMap('ratings').set(ratingKey(ana().id, 3, 'kss-6'), 4);
    expect(await again.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect(onServer(doc, 'submitted')).toHaveProperty(submittedKey(ana().id, 3));
    expect(onServer(doc, 'ratings')[ratingKey(ana().id, 3, 'kss-6')]).toBe(2);
  });
});

describe('bounds (row 7)', () => {
  it('a section holds at most its limit of entries: one more is refused', async () => {
    const doc = sheet(lead(), 'reflective');
    const observer = await synced(lead(), doc);
    const notes = observer.ydoc.getMap('notes');
    observer.ydoc.transact(() => {
      for (let i = 0; i < RUBRIC_LIMITS.maxEntriesPerSection; i++) {
        notes.set(noteKey(lead().id, `n${i}`), { scenario: 'reflective', atMs: i, domainId: null, text: 'x', createdAt: 1 });
      }
    });
    await expect.poll(() => Object.keys(onServer(doc, 'notes')).length).toBe(RUBRIC_LIMITS.maxEntriesPerSection);
    notes.set(noteKey(lead().id, 'one-more'), { scenario: 'reflective', atMs: 1, domainId: null, text: 'x', createdAt: 1 });
    expect(await observer.closed).toMatchObject({ code: CLOSE_CODES.BadRequest, reason: expect.stringMatching(/full/) });
    expect(Object.keys(onServer(doc, 'notes')).length).toBe(RUBRIC_LIMITS.maxEntriesPerSection);
  });
});

describe('a read-only connection cannot write', () => {
  it('its Update is rejected and the document is unchanged; a SyncStep2 with nothing new is fine', async () => {
    const doc = sheet(tom(), 1);
    const owner = await synced(tom(), doc);
    owner.ydoc.getMap('ratings').set(ratingKey(tom().id, 1, 'kss-7'), 3);
    await expect.poll(() => onServer(doc, 'ratings')).toHaveProperty(ratingKey(tom().id, 1, 'kss-7'));
    const quiet = await synced('moderator', doc);
    quiet.send(sync(SYNC_STEP_2, Y.encodeStateAsUpdate(quiet.ydoc)));
    const moderator = await synced('moderator', doc);
    const before = Y.encodeStateVector(studio.collab.doc(doc)!);
    moderator.send(sync(SYNC_UPDATE, mapUpdate('ratings', ratingKey(tom().id, 1, 'kss-1'), 1)));
    expect(await moderator.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect(Y.encodeStateVector(studio.collab.doc(doc)!)).toEqual(before);
    expect(quiet.ws.readyState).toBe(quiet.ws.OPEN);
  });

  it('awareness for a foreign client ID is dropped, its own is relayed (lead document)', async () => {
    const watcher = await synced(tom(), rubric());
    const speaker = await synced(lead(), rubric());
    speaker.sendAwareness(777001, { user: 'lead' });
    await expect.poll(() => watcher.awareness.getStates().get(777001)).toEqual({ user: 'lead' });
    speaker.sendAwareness(777002, { user: 'impostor' });
    speaker.sendAwareness(777001, { user: 'lead, still' });
    await expect.poll(() => watcher.awareness.getStates().get(777001)).toEqual({ user: 'lead, still' });
    expect(watcher.awareness.getStates().has(777002)).toBe(false);
    expect(speaker.ws.readyState).toBe(speaker.ws.OPEN);
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
    ['oversized', new Uint8Array(COLLAB_LIMITS.maxRubricMessageBytes + 10), CLOSE_CODES.MessageTooBig],
    ['truncated', truncated, CLOSE_CODES.BadRequest],
    ['zero-length', new Uint8Array(0), CLOSE_CODES.BadRequest],
    ['random', random, CLOSE_CODES.BadRequest],
    ['sync update of garbage', sync(SYNC_UPDATE, random.slice(0, 64)), CLOSE_CODES.BadRequest],
  ];

  it.each(cases)('a %s message closes only that connection; the document lives on', async (_name, bytes, code) => {
    const doc = sheet(lead(), 2);
    const bystander = await synced(lead(), doc);
    const offender = await synced('moderator', doc);
    const before = JSON.stringify(onServer(doc, 'ratings'));
    offender.send(bytes);
    expect(await offender.closed).toMatchObject({ code });
    expect(JSON.stringify(onServer(doc, 'ratings'))).toBe(before);
    const key = ratingKey(lead().id, 2, `kss-${1 + Math.floor(Math.random() * 10)}`);
    const value = 1 + Math.floor(Math.random() * 4);
    bystander.ydoc.getMap('ratings').set(key, value);
    await expect.poll(() => onServer(doc, 'ratings')[key]).toBe(value);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
  });
});

describe('the upgrade path (rows 1 and 12)', () => {
  /** Sends a raw HTTP upgrade request and returns the status line of the answer. */
  function rawUpgrade(path: string): Promise<string> {
    const { port } = new URL(studio.baseUrl);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
      });
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
      socket.setTimeout(5000, () => socket.destroy());
    });
  }

  it.each(['//', '/collab/%', '/collab/%E0%A4%A', '//collab/x', '/collab/session%2F%ZZ'])('an unauthenticated upgrade of %s is refused and the server lives on', async (path) => {
    const status = await rawUpgrade(path);
    expect(status).toMatch(/^HTTP\/1\.1 (400|404)/);
    const health = await fetch(`${studio.baseUrl}/api/health`);
    expect(health.status).toBe(200);
  });

  it('connections reset while authentication runs leave no document in memory', async () => {
    const p = tom();
    const cookie = await signIn(studio, p);
    const doc = sheet(p, 'reflective');
    const resets = Array.from({ length: 20 }, () => {
      const ws = new WebSocket(collabUrl(studio.baseUrl, doc, p.id), { headers: { cookie } });
      ws.on('error', () => undefined);
      // The handshake is done: the server now authenticates; cut the TCP connection under it.
      ws.on('upgrade', () => ws.terminate());
      return new Promise<void>((resolve) => ws.once('close', () => resolve()));
    });
    await Promise.all(resets);
    // A real connection opens and closes the document normally; afterwards nothing is left.
    const real = await synced(p, doc);
    real.close();
    await real.closed;
    await expect.poll(() => studio.collab.openDocs().includes(doc)).toBe(false);
  });
});

describe('group commit', () => {
  it('an update that cannot be stored is never acknowledged; a reader that saw it reconnects unrefused; the author’s reconnect stores it', async () => {
    const doc = sheet(ana(), 1);
    const headers = { cookie: await signIn(studio, ana()) };
    const moderatorHeaders = { cookie: await signIn(studio, byRole(participants, 'moderator')) };
    const owner = await synced(ana(), doc);
    const reader = await synced('moderator', doc);
    const key = ratingKey(ana().id, 1, 'kss-9');
    // Another connection holds the database's write lock: the commit fails (busy).
    const blocker = holdWriteLock(studio.dataDir);
    try {
      let ownerClosed = false;
      void owner.closed.then(() => (ownerClosed = true));
      owner.ydoc.getMap('ratings').set(key, 2);
      // The commit waits for the lock (up to 5 s) on the writer thread: the server goes on
      // answering meanwhile (on the main thread it stopped everything for those 5 s).
      await expect.poll(() => studio.collab.storing(doc)).toBe(true);
      expect((await fetch(`${studio.baseUrl}/api/health`)).ok).toBe(true);
      // The reader sees the checked edit at once; its author is not told it is saved.
      await expect.poll(() => reader.ydoc.getMap('ratings').get(key)).toBe(2);
      expect(owner.serverView.getMap('ratings').has(key)).toBe(false);
      expect(ownerClosed).toBe(false);
      expect(await owner.closed).toMatchObject({ code: CLOSE_CODES.ServerError });
      expect(await reader.closed).toMatchObject({ code: CLOSE_CODES.ServerError });
    } finally {
      blocker.release();
    }
    expect(owner.serverView.getMap('ratings').has(key)).toBe(false);
    // The reader reconnects holding the lost edit: it is neither refused nor taken from it.
    const readerAgain = new RawCollabClient(collabUrl(studio.baseUrl, doc, byRole(participants, 'moderator').id), moderatorHeaders, {
      ydoc: reader.ydoc,
      serverView: reader.serverView,
    });
    clients.push(readerAgain);
    await readerAgain.synced;
    const fresh = await synced('moderator', doc);
    expect(fresh.ydoc.getMap('ratings').has(key)).toBe(false);
    expect(readerAgain.ws.readyState).toBe(readerAgain.ws.OPEN);
    // The author's client still holds the edit and sends it on reconnect.
    const again = new RawCollabClient(collabUrl(studio.baseUrl, doc, ana().id), headers, { ydoc: owner.ydoc, serverView: owner.serverView });
    clients.push(again);
    await expect.poll(() => again.serverView.getMap('ratings').get(key)).toBe(2);
    const check = await synced('moderator', doc);
    expect(check.ydoc.getMap('ratings').get(key)).toBe(2);
  });

  it('content a reader sends is never applied (and the reader is not cut off for it)', async () => {
    const doc = sheet(ana(), 2);
    const moderator = await synced('moderator', doc);
    // Content nobody sent it (a forgery, or an edit lost before it was stored): not applied.
    moderator.send(sync(SYNC_STEP_2, mapUpdate('ratings', ratingKey(ana().id, 2, 'kss-1'), 1)));
    const check = await synced('moderator', doc);
    expect(check.ydoc.getMap('ratings').has(ratingKey(ana().id, 2, 'kss-1'))).toBe(false);
    expect(moderator.ws.readyState).toBe(moderator.ws.OPEN);
  });
});

describe('persistence', () => {
  it('accepted edits are in the database before anyone hears of them, and survive a restart', async () => {
    const dataDir = studio.dataDir;
    const doc = sheet(lead(), 3);
    const writer = await synced(lead(), doc);
    const key = ratingKey(lead().id, 3, 'kss-7');
    writer.ydoc.getMap('ratings').set(key, 4);
    await expect.poll(() => writer.serverView.getMap('ratings').get(key)).toBe(4);
    for (const c of clients) c.close();
    await studio.close();
    studio = await startTestStudio({}, dataDir);
    const reader = await synced('moderator', doc);
    expect(reader.ydoc.getMap('ratings').get(key)).toBe(4);
    const agreed = await synced('moderator', rubric());
    expect(agreed.ydoc.getMap('agreed').get(agreedKey(1, 'kss-1'))).toMatchObject({ rating: 3 });
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
      const dead = new WebSocket(url, { headers: { cookie }, autoPong: false });
      const healthy = new RawCollabClient(url, { cookie });
      const deadClosed = new Promise<number>((resolve) => dead.once('close', (code) => resolve(code)));
      expect(await deadClosed).toBe(1006);
      expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
      expect(quick.logLines.some((l) => l.msg === 'collab connection missed its heartbeat; closed')).toBe(true);
      healthy.close();
    } finally {
      await quick.close();
    }
  });
});
