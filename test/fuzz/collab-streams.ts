// Clients of /collab for the fuzzer: honest writers (what they wrote, and what the server
// acknowledged) and fuzz streams (random and mutated messages from a signed-in participant to
// documents they may and may not open). Every byte a client receives is screened for what it
// must never see.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { MESSAGE_AWARENESS, MESSAGE_SYNC, SYNC_STEP_1, SYNC_STEP_2, WRITTEN_FRAGMENT, collabDocName } from '../../shared/collab.ts';
import { agreedKey, feedbackKey, globalKey, noteKey, ratingKey, submittedKey } from '../../shared/rubric.ts';
import { collabUrl, sync } from '../helpers/collab-client.ts';
import { collabMessage, type MessageContext } from './collab-messages.ts';
import type { Rng } from './rng.ts';
import { MARKER, READER_ROLES, docCode, resolveDocName, sessionDocs, writesOwn, type Person, type World } from './world.ts';

/** A marker a client received: checked at the end, when it is known what was submitted. */
export interface Sighting {
  receiver: Person;
  /** 'collab:<docName>', 'socket.io' or 'http'. */
  channel: string;
  prefix: 'fz' | 'hs';
  author: Person;
  code: string;
}

export interface Screen {
  world: World;
  sightings: Sighting[];
  /** Presence (awareness) each honest client publishes, by document and client ID: the only
   *  state anyone may receive for that ID in that document (a connection speaks for one client
   *  ID only; awareness is per document, so the same number elsewhere is someone else's). */
  presence: Map<string, string>;
  forgedPresence: Array<{ receiver: Person; clientId: number; state: string }>;
}

/** Records every marker of someone else in what a client of `receiver` received. */
export function screenBytes(screen: Screen, receiver: Person, channel: string, data: Uint8Array | string): void {
  if (READER_ROLES.has(receiver.role)) return; // moderators and coordinators read every sheet
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (!text.includes('fz') && !text.includes('hs')) return;
  for (const [, prefix, tag, code] of text.matchAll(MARKER)) {
    if (tag === receiver.tag) continue;
    const author = screen.world.people.find((p) => p.tag === tag);
    if (author) screen.sightings.push({ receiver, channel, prefix: prefix as 'fz' | 'hs', author, code: code! });
  }
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A y-websocket client that keeps a replica of what the server sent it. */
class Link {
  readonly ws: WebSocket;
  readonly replica = new Y.Doc();
  /** Only what the server sent: an edit is acknowledged once it shows up here. */
  readonly serverView = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(new Y.Doc());
  closed: { code: number; reason: string } | null = null;
  readonly opened: Promise<boolean>;
  readonly whenClosed: Promise<{ code: number; reason: string }>;

  constructor(url: string, headers: Record<string, string>, onBytes: (data: Uint8Array) => void, onPresence: (clientId: number, state: unknown) => void = () => undefined) {
    this.ws = new WebSocket(url, { headers, handshakeTimeout: 10_000 });
    this.awareness.on('change', ({ added, updated }: { added: number[]; updated: number[] }) => {
      for (const id of [...added, ...updated]) onPresence(id, this.awareness.getStates().get(id));
    });
    this.whenClosed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        this.awareness.destroy();
        resolve(this.closed);
      });
    });
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      // A refused upgrade (4xx) is an 'error', then a 'close'.
      this.ws.once('close', () => resolve(false));
    });
    // Like a provider: ask for the server's content at once (y-protocols SyncStep1).
    void this.opened.then((open) => {
      if (open) void this.send(sync(SYNC_STEP_1, Y.encodeStateVector(this.replica)));
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      onBytes(bytes);
      try {
        const decoder = decoding.createDecoder(bytes);
        const type = decoding.readVarUint(decoder);
        if (type === MESSAGE_SYNC) {
          const step = decoding.readVarUint(decoder);
          const payload = decoding.readVarUint8Array(decoder);
          if (step === SYNC_STEP_1) this.send(sync(SYNC_STEP_2, Y.encodeStateAsUpdate(this.replica, payload)));
          else {
            Y.applyUpdate(this.replica, payload, 'server');
            Y.applyUpdate(this.serverView, payload, 'server');
          }
        } else if (type === MESSAGE_AWARENESS) {
          awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), 'server');
        }
      } catch {
        // The client side is not under test; a broken reply shows up in the oracle.
      }
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: Uint8Array): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => this.ws.send(message, () => resolve()));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close();
  }
}

function linkTo(world: World, who: Person, docName: string, screen: Screen, extraHeaders: Record<string, string> = {}, encodedName = docName): Link {
  const url = collabUrl(world.baseUrl, encodedName, who.id);
  return new Link(
    url,
    { cookie: who.cookie, ...extraHeaders },
    (data) => screenBytes(screen, who, `collab:${docName}`, data),
    (clientId, state) => {
      const expected = screen.presence.get(`${resolveDocName(docName)}|${clientId}`);
      const got = JSON.stringify(state ?? null);
      if (expected !== undefined && got !== expected) screen.forgedPresence.push({ receiver: who, clientId, state: got.slice(0, 200) });
    },
  );
}

// ---- honest writers ----

/** An honest client of one document: what it wrote, and whether the server took all of it. */
export class HonestWriter {
  readonly who: Person;
  readonly docName: string;
  readonly link: Link;
  /** Set when the server closed it; `tolerated` closes (a day paused by a fuzzed control) are fine. */
  unexpectedClose: { code: number; reason: string } | null = null;
  private stopped = false;

  constructor(world: World, who: Person, docName: string, screen: Screen, tolerated: (reason: string) => boolean = () => false) {
    this.who = who;
    this.docName = docName;
    this.link = linkTo(world, who, docName, screen);
    void this.link.whenClosed.then((c) => {
      if (!this.stopped && !tolerated(c.reason)) this.unexpectedClose = c;
    });
  }

  /** The writer's own document: every edit goes to the server as an update. */
  get doc(): Y.Doc {
    return this.link.replica;
  }

  async ready(): Promise<boolean> {
    return this.link.opened;
  }

  /** Whether the server has sent back everything this writer wrote. */
  get acknowledged(): boolean {
    const own = this.doc.clientID;
    return Y.getState(this.link.serverView.store, own) >= Y.getState(this.doc.store, own);
  }

  /** Applies an edit locally and sends it. */
  async edit(change: (doc: Y.Doc) => void): Promise<void> {
    if (!this.link.open) return;
    const before = Y.encodeStateVector(this.doc);
    change(this.doc);
    await this.link.send(sync(2, Y.encodeStateAsUpdate(this.doc, before)));
  }

  /** Publishes this client's presence (as a provider does: its document's client ID). */
  async announce(screen: Screen): Promise<void> {
    const state = JSON.stringify({ user: { name: `honest ${this.who.role}` } });
    screen.presence.set(`${this.docName}|${this.doc.clientID}`, state);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, this.doc.clientID);
    encoding.writeVarUint(e, 1);
    encoding.writeVarString(e, state);
    const update = encoding.toUint8Array(e);
    const message = encoding.createEncoder();
    encoding.writeVarUint(message, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(message, update);
    await this.link.send(encoding.toUint8Array(message));
  }

  stop(): void {
    this.stopped = true;
    this.link.close();
  }
}

/** Edits an honest scorer makes in their sheet: ratings, a global judgement, notes with the secret. */
export function honestSheetEdit(rng: Rng, world: World, who: Person, scenario: 1 | 2, n: number): (doc: Y.Doc) => void {
  return (doc) => {
    const kind = rng.pick(['rating', 'global', 'note', 'note'] as const);
    if (kind === 'rating') doc.getMap('ratings').set(ratingKey(who.id, scenario, rng.pick(['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9'])), rng.int(1, 4));
    else if (kind === 'global') doc.getMap('global').set(globalKey(who.id, scenario), rng.int(1, 7));
    else {
      doc.getMap('notes').set(noteKey(who.id, `h-${n}`), { scenario, atMs: n * 1000, domainId: null, text: scenario === 1 ? `hs${who.tag}qq ${n}` : `open note ${n}`, createdAt: Date.now() });
    }
  };
}

export const honestSubmit = (who: Person, scenario: 1 | 2) => (doc: Y.Doc): void => {
  doc.getMap('submitted').set(submittedKey(who.id, scenario), Date.now());
};

export function honestLeadEdit(rng: Rng, world: World, n: number): (doc: Y.Doc) => void {
  return (doc) => {
    if (rng.chance(0.6)) doc.getMap('agreed').set(agreedKey(rng.pick([1, 2]), rng.pick(['kss-1', 'kss-2', 'kss-6'])), { rating: rng.int(1, 4), rationale: `agreed ${n} ${world.seed}` });
    else doc.getMap('feedback').set(feedbackKey(rng.pick([1, 'overall'] as const), rng.pick(['strengths', 'development'] as const)), `feedback ${n} ${world.seed}`);
  };
}

export function honestWrittenEdit(rng: Rng, n: number): (doc: Y.Doc) => void {
  return (doc) => {
    const fragment = doc.getXmlFragment(WRITTEN_FRAGMENT);
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText(`Case note ${n}: ${rng.string(rng.int(5, 60), 'abcdefghij klmnop')}`)]);
    fragment.insert(rng.int(0, fragment.length), [p]);
  };
}

// ---- fuzz streams ----

export interface StreamStats {
  connections: number;
  messages: number;
  closes: Map<number, number>;
}

export function newStats(): StreamStats {
  return { connections: 0, messages: 0, closes: new Map() };
}

/**
 * One participant's fuzz stream: connects to a random target (a document they may write,
 * read, or not open at all, or no document), sends a burst of random and mutated messages,
 * moves on; until `until`.
 */
export async function collabFuzzStream(opts: {
  rng: Rng;
  world: World;
  who: Person;
  targets: string[];
  screen: Screen;
  until: number;
  /** The honest writers (the attacker knows their state and client IDs). */
  honest: HonestWriter[];
  stats: StreamStats;
}): Promise<void> {
  const { rng, world, who, targets, screen, until, honest, stats } = opts;
  const counter = { n: 0 };
  const participantIds = world.people.map((p) => p.id);
  // Half the time a document this participant writes: only there does the guard read the update.
  const own = targets.filter((name) => writesOwn(world, who, resolveDocName(name) ?? ''));
  const session = new Set(sessionDocs(world).map((d) => d.name));
  const foreign = targets.filter((name) => session.has(name) && !own.includes(name));
  const junk = targets.filter((name) => !session.has(name));
  while (Date.now() < until) {
    const docName = rng.weighted<string>([
      [own.length > 0 ? 4 : 0, own.length > 0 ? rng.pick(own) : ''],
      [5, rng.pick(foreign)],
      [1, rng.pick(junk)],
    ]);
    const headers = rng.weighted<Record<string, string>>([
      [12, {}],
      [1, { cookie: '' }],
      [1, { origin: 'https://evil.example' }],
      [1, { cookie: `${who.cookie.split('=')[0]}=${rng.string(40)}` }],
    ]);
    // Broken endings that name no document (never an alias of one: see resolveDocName).
    const encodedName = rng.chance(0.9) ? docName : `${docName}${rng.pick(['%', '%2F', '?x=%', '%23', '%2F..'])}`;
    const link = linkTo(world, who, docName, screen, headers, encodedName);
    stats.connections++;
    if (!(await link.opened)) {
      await link.whenClosed.catch(() => undefined);
      continue;
    }
    const writers = honest.filter((h) => h.docName === docName);
    const ctx: MessageContext = {
      tag: `${who.tag}${docCode(world, docName)}`,
      participantIds,
      counter,
      // Not the replica's own ID: Yjs renames a document that receives its own ID from the server.
      ownClientId: rng.int(1, 2 ** 31),
      // Omniscient attacker: the honest writer's whole state, else what this connection was sent.
      knowledge: () => (writers.length > 0 && rng.chance(0.6) ? rng.pick(writers).doc : link.replica),
      victimClientIds: () => honest.map((h) => h.doc.clientID),
    };
    const kind = docName === collabDocName(world.sessionId, 'written') ? 'xml' : 'map';
    const burst = rng.weighted<number>([
      [6, rng.int(1, 20)],
      [3, rng.int(20, 80)],
      [1, rng.int(250, 400)], // beyond the 200 messages a second a connection may send
    ]);
    for (let i = 0; i < burst && link.open && Date.now() < until; i++) {
      await link.send(collabMessage(rng, ctx, kind));
      stats.messages++;
      if (burst < 200 && rng.chance(0.2)) await delay(rng.int(0, 5));
    }
    link.close();
    // A closing handshake the server does not finish in time ends with the TCP connection.
    const closed = await Promise.race([link.whenClosed, delay(1000).then(() => null)]);
    if (!closed) link.ws.terminate();
    const code = (closed ?? (await link.whenClosed)).code;
    stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
  }
}
