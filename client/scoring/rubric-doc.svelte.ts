// One observer's live copy of the session's shared rubric (`session/<id>/rubric`, layout in
// shared/rubric.ts), synced over y-websocket and kept in IndexedDB so that scoring goes on
// when the network drops and survives a reload.
//
// The server checks every update byte by byte and CLOSES the connection on anything its
// author does not own or that is malformed (server/collab/rubric-guard.ts) — and a refused
// edit stays in this doc and IndexedDB, so it would be re-sent (and refused) on every
// reconnect. Hence every write here is validated first, with the server's own rules, and
// only ever touches keys built from the shared key helpers with my participant id.
//
// Two deliberate departures from a stock WebsocketProvider set-up:
// - Awareness: the stock provider re-broadcasts *every* awareness change it sees, including
//   other people's states it just received, and the server allows one awareness client ID per
//   connection (closes with 4403 otherwise). We replace its awareness handler with one that
//   sends only our own client's state.
// - BroadcastChannel is off: it would pass edits between tabs of *different* participants
//   in the same browser, and their content would then go to the server in our SyncStep2
//   (refused: not ours).
//
// "Saved to server" — what we chose: the server sends its full state vector once, at
// connect (its SyncStep1 greeting), and then echoes every update it accepts to every
// connection, the author's included. We wrap the provider's sync handler to keep
// `#serverState`: the greeting's state vector, advanced by the clock ranges
// (Y.parseUpdateMeta) of every SyncStep2/Update that arrives. My edits are "pending" while
// the local state vector has any client clock beyond it, "saved" otherwise. It is exact for
// inserts, which is every write this class makes (Y.Map#set overwrites by inserting); a
// pure deletion does not move a state vector and would not be seen (we never delete). The
// acknowledged state vector is remembered in localStorage, so after an offline reload the
// restored edits show "pending" or "saved" correctly before the server is reached.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as awarenessProtocol from 'y-protocols/awareness';
import { WebsocketProvider, messageAwareness, messageSync } from 'y-websocket';
import * as Y from 'yjs';
import { CLOSE_CODES, COLLAB_PATH, SYNC_STEP_1, collabDocName } from '../../shared/collab.ts';
import type { Role } from '../../shared/roles.ts';
import {
  AgreedRatingSchema,
  EvidenceNoteSchema,
  agreedKey,
  feedbackKey,
  globalKey,
  noteKey,
  ratingKey,
  submittedKey,
  type AgreedRating,
  type EvidenceNote,
  type ScenarioKey,
} from '../../shared/rubric.ts';
import { colorFor, isScenarioKey } from './sheet.ts';

export interface ScoringMe {
  participantId: string;
  role: Role;
  displayName: string;
}

export type ConnectionStatus = 'connected' | 'connecting' | 'offline';
export type SaveStatus = 'saved' | 'pending';
export type FeedbackScope = ScenarioKey | 'overall';
export type FeedbackPart = 'strengths' | 'development';

export interface PresentUser {
  clientId: number;
  participantId: string | null;
  name: string;
  role: string;
  color: string;
  isMe: boolean;
}

export interface NoteEntry extends EvidenceNote {
  id: string;
  participantId: string;
}

export interface RubricDocOptions {
  /** Base of the collab endpoint, e.g. "wss://host/collab" (default: this page's origin). */
  serverUrl?: string;
  /** For Node tests (e.g. `ws` with a cookie header). */
  WebSocketPolyfill?: typeof WebSocket;
  /** Keep a copy in IndexedDB (default: whenever the environment has IndexedDB). */
  persist?: boolean;
  /** Where the server-acknowledged state vector is remembered (default: localStorage). */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
}

/** Why the server ended the connection for good (it will not be retried). */
export interface Refusal {
  code: number;
  reason: string;
}

type Listener = [EventTarget, string, EventListener];

export class RubricDoc {
  readonly doc: Y.Doc;
  readonly sessionId: string;
  readonly me: ScoringMe;
  readonly level: 'practitioner' | 'supervisor';
  readonly provider: WebsocketProvider;
  readonly awareness: awarenessProtocol.Awareness;

  #ratings = $state.raw<Record<string, number>>({});
  #global = $state.raw<Record<string, number>>({});
  #submitted = $state.raw<Record<string, number>>({});
  #notes = $state.raw<Record<string, EvidenceNote>>({});
  #agreed = $state.raw<Record<string, AgreedRating>>({});
  #feedback = $state.raw<Record<string, string>>({});
  #connection = $state<ConnectionStatus>('connecting');
  #saveStatus = $state<SaveStatus>('saved');
  #refused = $state.raw<Refusal | null>(null);
  #present = $state.raw<PresentUser[]>([]);
  /** Display names seen in awareness, kept after people leave. */
  #names = $state.raw<Record<string, string>>({});
  #restored = $state(false);

  readonly #persistence: IndexeddbPersistence | null = null;
  readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  readonly #ackKey: string;
  /** What the server is known to have: its greeting's state vector plus every update it sent since. */
  #serverState: Map<number, number> | null = null;
  #failedOnce = false;
  #browserOffline = false;
  #listeners: Listener[] = [];
  #destroyed = false;

  constructor(sessionId: string, me: ScoringMe, level: 'practitioner' | 'supervisor', options: RubricDocOptions = {}) {
    this.sessionId = sessionId;
    this.me = { participantId: me.participantId, role: me.role, displayName: me.displayName };
    this.level = level;
    this.doc = new Y.Doc();
    this.#storage = options.storage !== undefined ? options.storage : safeLocalStorage();
    this.#ackKey = `simstudio-rubric-ack-${sessionId}-${me.participantId}`;
    this.#serverState = this.#loadAck();

    // ---- the document's maps → reactive snapshots ----
    const maps: Array<[string, (json: Record<string, never>) => void]> = [
      ['ratings', (j) => (this.#ratings = j)],
      ['global', (j) => (this.#global = j)],
      ['submitted', (j) => (this.#submitted = j)],
      ['notes', (j) => (this.#notes = j)],
      ['agreed', (j) => (this.#agreed = j)],
      ['feedback', (j) => (this.#feedback = j)],
    ];
    for (const [name, assign] of maps) {
      const map = this.doc.getMap(name);
      map.observe(() => assign(map.toJSON() as Record<string, never>));
    }
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      // Updates from the server are accounted for once the sync handler has merged them.
      if (origin !== this.provider) this.#refreshSaveStatus();
    });

    // ---- awareness: who I am, for the others ----
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    this.awareness.setLocalState({
      name: me.displayName,
      role: me.role,
      color: colorFor(me.participantId),
      participantId: me.participantId,
    });
    this.awareness.on('change', () => this.#refreshPresence());

    // ---- the provider ----
    const serverUrl =
      options.serverUrl ?? `${location.origin.replace(/^http/, 'ws')}${COLLAB_PATH.replace(/\/$/, '')}`;
    this.provider = new WebsocketProvider(serverUrl, collabDocName(sessionId, 'rubric'), this.doc, {
      connect: false,
      awareness: this.awareness,
      params: { participantId: me.participantId },
      disableBc: true,
      ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill } : {}),
      shouldReconnect: (event) => !isTerminalClose(event.code, event.reason),
    });
    this.#onlyOwnAwareness();
    this.#trackServerState();
    this.provider.on('status', () => this.#refreshConnection());
    this.provider.on('sync', () => this.#refreshConnection());
    this.provider.on('connection-close', () => {
      this.#failedOnce = true;
      this.#refreshConnection();
    });
    this.provider.on('closed', (event) => {
      this.#refused = { code: event.code, reason: event.reason };
      this.#refreshConnection();
    });

    // The browser knows before the socket does (no data may flow for up to 30 s before the
    // provider's watchdog notices): go offline at once, reconnect at once when back.
    if (typeof window !== 'undefined') {
      this.#browserOffline = typeof navigator !== 'undefined' && navigator.onLine === false;
      // A fresh connect drops the old socket at once (a dead socket's close can take long)
      // and keeps retrying with the provider's backoff; "online" skips the backoff.
      const restart = (): void => {
        if (this.#refused || this.#destroyed) return;
        this.provider.disconnect();
        this.provider.connect();
      };
      this.#listen(window, 'offline', () => {
        this.#browserOffline = true;
        restart();
        this.#refreshConnection();
      });
      this.#listen(window, 'online', () => {
        this.#browserOffline = false;
        restart();
        this.#refreshConnection();
      });
    }

    // ---- local copy ----
    const persist = options.persist ?? typeof indexedDB !== 'undefined';
    if (persist) {
      this.#persistence = new IndexeddbPersistence(`simstudio-rubric-${sessionId}-${me.participantId}`, this.doc);
      void this.#persistence.whenSynced.then(() => {
        if (this.#destroyed) return;
        this.#restored = true;
        this.#refreshSaveStatus();
      });
    } else {
      this.#restored = true;
    }

    this.provider.connect();
    this.#refreshPresence();
  }

  // ---- reactive state ----

  get connection(): ConnectionStatus {
    return this.#connection;
  }
  /** Whether everything in my local copy has been acknowledged by the server. */
  get saveStatus(): SaveStatus {
    return this.#saveStatus;
  }
  /** Set when the server ended the connection for good (bad update, signed out, …). */
  get refused(): Refusal | null {
    return this.#refused;
  }
  /** The local (IndexedDB) copy has been loaded. */
  get restored(): boolean {
    return this.#restored;
  }
  /** Everyone connected to this rubric now, me included (isMe). */
  get present(): PresentUser[] {
    return this.#present;
  }
  get canScore(): boolean {
    return this.me.role === 'observer' || this.me.role === 'leadObserver';
  }
  get isLead(): boolean {
    return this.me.role === 'leadObserver';
  }
  /** Raw snapshots of the maps (plain objects, keys as in shared/rubric.ts). */
  get ratings(): Readonly<Record<string, number>> {
    return this.#ratings;
  }
  get globals(): Readonly<Record<string, number>> {
    return this.#global;
  }
  get submittedFlags(): Readonly<Record<string, number>> {
    return this.#submitted;
  }
  get notes(): Readonly<Record<string, EvidenceNote>> {
    return this.#notes;
  }
  get agreed(): Readonly<Record<string, AgreedRating>> {
    return this.#agreed;
  }
  get feedback(): Readonly<Record<string, string>> {
    return this.#feedback;
  }

  // ---- queries (reactive when read in a template or $derived) ----

  ratingOf(participantId: string, scenario: ScenarioKey, domainId: string): number | null {
    return this.#ratings[ratingKey(participantId, scenario, domainId)] ?? null;
  }
  myRating(scenario: ScenarioKey, domainId: string): number | null {
    return this.ratingOf(this.me.participantId, scenario, domainId);
  }
  globalOf(participantId: string, scenario: ScenarioKey): number | null {
    return this.#global[globalKey(participantId, scenario)] ?? null;
  }
  /** When the observer submitted this scenario (epoch ms), or null. */
  submittedAt(participantId: string, scenario: ScenarioKey): number | null {
    return this.#submitted[submittedKey(participantId, scenario)] ?? null;
  }
  isSubmitted(scenario: ScenarioKey, participantId = this.me.participantId): boolean {
    return this.submittedAt(participantId, scenario) !== null;
  }
  /** Participant ids with any rating, global judgement or submission for this scenario. */
  observersOf(scenario: ScenarioKey): string[] {
    const ids = new Set<string>();
    const s = String(scenario);
    for (const key of Object.keys(this.#ratings)) {
      const [pid, sc] = key.split('|');
      if (pid && sc === s) ids.add(pid);
    }
    for (const map of [this.#global, this.#submitted]) {
      for (const key of Object.keys(map)) {
        const [pid, sc] = key.split('|');
        if (pid && sc === s) ids.add(pid);
      }
    }
    return [...ids];
  }
  /** One observer's evidence notes, newest first (optionally for one scenario). */
  notesOf(participantId: string, scenario?: ScenarioKey): NoteEntry[] {
    const prefix = `${participantId}|`;
    const out: NoteEntry[] = [];
    for (const [key, note] of Object.entries(this.#notes)) {
      if (!key.startsWith(prefix)) continue;
      if (scenario !== undefined && note.scenario !== scenario) continue;
      out.push({ ...note, id: key.slice(prefix.length), participantId });
    }
    return out.sort((a, b) => b.createdAt - a.createdAt || b.atMs - a.atMs);
  }
  myNotes(scenario?: ScenarioKey): NoteEntry[] {
    return this.notesOf(this.me.participantId, scenario);
  }
  agreedFor(scenario: ScenarioKey, domainId: string): AgreedRating | null {
    return this.#agreed[agreedKey(scenario, domainId)] ?? null;
  }
  feedbackFor(scope: FeedbackScope, part: FeedbackPart): string {
    return this.#feedback[feedbackKey(scope, part)] ?? '';
  }
  /** A display name for a participant seen in awareness (null if never seen). */
  nameOf(participantId: string): string | null {
    return this.#names[participantId] ?? null;
  }

  // ---- writes: each returns whether it was written ----

  /** My rating of a domain, 1–4. Refused once I have submitted the scenario (independence). */
  rate(scenario: ScenarioKey, domainId: string, value: number): boolean {
    if (!this.#mayWrite() || !isScenarioKey(scenario) || !validDomainId(domainId)) return false;
    if (!isIntIn(value, 1, 4) || this.isSubmitted(scenario)) return false;
    this.doc.getMap('ratings').set(ratingKey(this.me.participantId, scenario, domainId), value);
    return true;
  }

  /** My global judgement, 1–7. */
  setGlobal(scenario: ScenarioKey, value: number): boolean {
    if (!this.#mayWrite() || !isScenarioKey(scenario)) return false;
    if (!isIntIn(value, 1, 7) || this.isSubmitted(scenario)) return false;
    this.doc.getMap('global').set(globalKey(this.me.participantId, scenario), value);
    return true;
  }

  /** Marks my scoring of this scenario as submitted (once; the time is kept). */
  submit(scenario: ScenarioKey): boolean {
    if (!this.#mayWrite() || !isScenarioKey(scenario) || this.isSubmitted(scenario)) return false;
    this.doc.getMap('submitted').set(submittedKey(this.me.participantId, scenario), Math.max(1, Math.round(Date.now())));
    return true;
  }

  /** Adds an evidence note; returns its id, or null if it was not valid (e.g. empty). */
  addNote(scenario: ScenarioKey, atMs: number, domainId: string | null, text: string): string | null {
    if (!this.#mayWrite()) return null;
    const parsed = EvidenceNoteSchema.safeParse({
      scenario,
      atMs: Math.max(0, Math.round(atMs)),
      domainId,
      text: text.trim(),
      createdAt: Math.round(Date.now()),
    });
    if (!parsed.success) return null;
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.doc.getMap('notes').set(noteKey(this.me.participantId, id), parsed.data);
    return id;
  }

  /** Lead observer: the agreed rating of a domain, with its rationale. */
  setAgreed(scenario: ScenarioKey, domainId: string, rating: number, rationale: string): boolean {
    if (!this.#mayWrite() || !this.isLead || !isScenarioKey(scenario) || !validDomainId(domainId)) return false;
    const parsed = AgreedRatingSchema.safeParse({ rating, rationale });
    if (!parsed.success) return false;
    this.doc.getMap('agreed').set(agreedKey(scenario, domainId), parsed.data);
    return true;
  }

  /** Lead observer: narrative feedback for a scenario or overall. */
  setFeedback(scope: FeedbackScope, part: FeedbackPart, text: string): boolean {
    if (!this.#mayWrite() || !this.isLead) return false;
    if (scope !== 'overall' && !isScenarioKey(scope)) return false;
    if (part !== 'strengths' && part !== 'development') return false;
    if (typeof text !== 'string' || text.length > MAX_FEEDBACK_CHARS) return false;
    if (this.feedbackFor(scope, part) === text) return true;
    this.doc.getMap('feedback').set(feedbackKey(scope, part), text);
    return true;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const [target, type, fn] of this.#listeners) target.removeEventListener(type, fn);
    this.#listeners = [];
    this.provider.destroy();
    this.awareness.destroy();
    void this.#persistence?.destroy();
    this.doc.destroy();
  }

  // ---- internals ----

  #mayWrite(): boolean {
    return !this.#destroyed && this.canScore;
  }

  #listen(target: EventTarget, type: string, fn: EventListener): void {
    target.addEventListener(type, fn);
    this.#listeners.push([target, type, fn]);
  }

  /** Replaces the provider's awareness handler with one that sends my own state only. */
  #onlyOwnAwareness(): void {
    const provider = this.provider;
    this.awareness.off('update', provider._awarenessUpdateHandler);
    const handler = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }): void => {
      const me = this.doc.clientID;
      if (!added.includes(me) && !updated.includes(me) && !removed.includes(me)) return;
      const ws = provider.ws;
      if (!provider.wsconnected || !ws || ws.readyState !== ws.OPEN) return;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, messageAwareness);
      encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [me]));
      ws.send(encoding.toUint8Array(encoder));
    };
    // destroy() detaches whatever is stored here.
    provider._awarenessUpdateHandler = handler;
    this.awareness.on('update', handler);
  }

  /** Wraps the provider's sync handler to learn what the server has (see the header). */
  #trackServerState(): void {
    const original = this.provider.messageHandlers[messageSync];
    if (!original) return;
    this.provider.messageHandlers[messageSync] = (encoder, decoder, provider, emitSynced, messageType) => {
      const peek = decoding.clone(decoder);
      const step = decoding.readVarUint(peek);
      const payload = decoding.readVarUint8Array(peek);
      original(encoder, decoder, provider, emitSynced, messageType);
      if (step === SYNC_STEP_1) {
        // The server's greeting: its whole state vector.
        this.#serverState = Y.decodeStateVector(payload);
      } else {
        const known = this.#serverState ?? new Map<number, number>();
        for (const [client, clock] of Y.parseUpdateMeta(payload).to) {
          if (clock > (known.get(client) ?? 0)) known.set(client, clock);
        }
        this.#serverState = known;
      }
      this.#saveAck();
      this.#refreshSaveStatus();
    };
  }

  #refreshSaveStatus(): void {
    if (this.#destroyed) return;
    const local = Y.decodeStateVector(Y.encodeStateVector(this.doc));
    const server = this.#serverState;
    let pending = false;
    for (const [client, clock] of local) {
      if (clock > (server?.get(client) ?? 0)) {
        pending = true;
        break;
      }
    }
    this.#saveStatus = pending ? 'pending' : 'saved';
  }

  #refreshConnection(): void {
    if (this.#destroyed) return;
    if (this.provider.wsconnected && this.provider.synced && !this.#browserOffline) this.#connection = 'connected';
    else if (this.#failedOnce || this.#browserOffline || this.#refused) this.#connection = 'offline';
    else this.#connection = 'connecting';
  }

  #refreshPresence(): void {
    if (this.#destroyed) return;
    const list: PresentUser[] = [];
    const names = { ...this.#names };
    let namesChanged = false;
    for (const [clientId, state] of this.awareness.getStates()) {
      const s = state as { name?: unknown; role?: unknown; color?: unknown; participantId?: unknown };
      const participantId = typeof s.participantId === 'string' ? s.participantId : null;
      const name = typeof s.name === 'string' ? s.name.slice(0, 100) : 'Someone';
      if (participantId && names[participantId] !== name) {
        names[participantId] = name;
        namesChanged = true;
      }
      list.push({
        clientId,
        participantId,
        name,
        role: typeof s.role === 'string' ? s.role : '',
        color: typeof s.color === 'string' && /^#[0-9a-f]{6}$/i.test(s.color) ? s.color : '#4a5360',
        isMe: clientId === this.doc.clientID,
      });
    }
    if (namesChanged) this.#names = names;
    this.#present = list;
  }

  #loadAck(): Map<number, number> | null {
    try {
      const raw = this.#storage?.getItem(this.#ackKey);
      if (!raw) return null;
      const entries = JSON.parse(raw) as unknown;
      if (!Array.isArray(entries)) return null;
      const map = new Map<number, number>();
      for (const e of entries) if (Array.isArray(e) && isIntIn(e[0], 0, 2 ** 32) && isIntIn(e[1], 0, 2 ** 53)) map.set(e[0], e[1]);
      return map;
    } catch {
      return null;
    }
  }

  #saveAck(): void {
    if (!this.#serverState) return;
    try {
      this.#storage?.setItem(this.#ackKey, JSON.stringify([...this.#serverState]));
    } catch {
      // Storage full or blocked: only the status after an offline reload is less precise.
    }
  }
}

/** The server's limit for a feedback text (server/collab/rubric-guard.ts). */
export const MAX_FEEDBACK_CHARS = 20_000;
/** EvidenceNoteSchema and AgreedRatingSchema limits, for input maxlength. */
export const MAX_NOTE_CHARS = 4000;
export const MAX_RATIONALE_CHARS = 4000;

/**
 * Closes after which reconnecting cannot help: the same local state would be refused again
 * (bad request, forbidden, not found, message too big) or the sign-in has gone. Rate limiting
 * and server errors are retried with the provider's backoff; so is the one 4400 that is
 * about timing, not content (too many messages before authentication finished).
 */
function isTerminalClose(code: number, reason: string): boolean {
  if (code === CLOSE_CODES.MessageTooBig) return true;
  if (code === CLOSE_CODES.RateLimited || code === CLOSE_CODES.ServerError) return false;
  if (code === CLOSE_CODES.BadRequest && /before authentication/.test(reason)) return false;
  return code >= 4400 && code < 4500;
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** Domain ids end up inside keys split on "|" and in notes (max 40 chars). */
function validDomainId(domainId: string): boolean {
  return typeof domainId === 'string' && domainId.length > 0 && domainId.length <= 40 && !domainId.includes('|');
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage !== 'undefined' ? localStorage : null;
  } catch {
    return null;
  }
}
