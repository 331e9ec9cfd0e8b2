// One collaborative document of the rubric, synced over y-websocket and (for documents I
// write) kept in IndexedDB, so that scoring goes on when the network drops and survives a
// reload. RubricDoc composes several: my sheets, the lead observer's document, and my
// co-observers' sheets (which the server sends only once they are submitted).
//
// The server checks every update and CLOSES the connection on anything its author does not
// own or that is malformed (server/collab/rubric-guard.ts) — and a refused edit stays in this
// doc and IndexedDB, so it would be re-sent (and refused) on every reconnect. Hence callers
// validate every write first, with the server's own rules.
//
// Two deliberate departures from a stock WebsocketProvider set-up:
// - Awareness: the stock provider re-broadcasts *every* awareness change it sees, including
//   other people's states it just received, and the server allows one awareness client ID per
//   connection. We replace its awareness handler with one that sends only our own state.
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
// inserts, which is every write the rubric makes (Y.Map#set overwrites by inserting). The
// acknowledged state vector is remembered in localStorage, so after an offline reload the
// restored edits show "pending" or "saved" correctly before the server is reached.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { IndexeddbPersistence } from 'y-indexeddb';
import { encodeAwarenessUpdate, type Awareness } from 'y-protocols/awareness';
import { WebsocketProvider, messageAwareness, messageSync } from 'y-websocket';
import * as Y from 'yjs';
import { CLOSE_CODES, COLLAB_PATH, SYNC_STEP_1 } from '../../shared/collab.ts';

export type ConnectionStatus = 'connected' | 'connecting' | 'offline';
export type SaveStatus = 'saved' | 'pending';

/** Why the server ended the connection for good (it will not be retried). */
export interface Refusal {
  code: number;
  reason: string;
}

export interface SyncedDocOptions {
  /** Base of the collab endpoint, e.g. "wss://host/collab" (default: this page's origin). */
  serverUrl?: string;
  /** For Node tests (e.g. `ws` with a cookie header). */
  WebSocketPolyfill?: typeof WebSocket;
  /** Keep a copy in IndexedDB (default: whenever the environment has IndexedDB). */
  persist?: boolean;
  /** Where the server-acknowledged state vector is remembered (default: localStorage). */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
}

type Listener = [EventTarget, string, EventListener];

export class SyncedDoc {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;

  #connection = $state<ConnectionStatus>('connecting');
  #saveStatus = $state<SaveStatus>('saved');
  #refused = $state.raw<Refusal | null>(null);
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

  /**
   * @param docName   the collaborative document (shared/collab.ts)
   * @param localName where my copy is kept (IndexedDB, ack), or null for a document I only read
   * @param awareness my presence on this document, or null for none
   */
  constructor(
    docName: string,
    participantId: string,
    localName: string | null,
    awareness: ((doc: Y.Doc) => Awareness) | null,
    options: SyncedDocOptions = {},
  ) {
    this.#storage = localName && options.storage !== undefined ? options.storage : localName ? safeLocalStorage() : null;
    this.#ackKey = `simstudio-ack-${localName ?? docName}`;
    this.#serverState = this.#loadAck();
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      // Updates from the server are accounted for once the sync handler has merged them.
      if (origin !== this.provider) this.#refreshSaveStatus();
    });

    const serverUrl = options.serverUrl ?? `${location.origin.replace(/^http/, 'ws')}${COLLAB_PATH.replace(/\/$/, '')}`;
    const presence = awareness?.(this.doc);
    this.provider = new WebsocketProvider(serverUrl, docName, this.doc, {
      connect: false,
      ...(presence ? { awareness: presence } : {}),
      params: { participantId },
      disableBc: true,
      ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill } : {}),
      shouldReconnect: (event) => !isTerminalClose(event.code, event.reason),
    });
    this.#onlyOwnAwareness(presence !== undefined);
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

    const persist = localName !== null && (options.persist ?? typeof indexedDB !== 'undefined');
    if (persist) {
      this.#persistence = new IndexeddbPersistence(localName, this.doc);
      void this.#persistence.whenSynced.then(() => {
        if (this.#destroyed) return;
        this.#restored = true;
        this.#refreshSaveStatus();
      });
    } else {
      this.#restored = true;
    }
    this.provider.connect();
  }

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
  get destroyed(): boolean {
    return this.#destroyed;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const [target, type, fn] of this.#listeners) target.removeEventListener(type, fn);
    this.#listeners = [];
    this.provider.destroy();
    void this.#persistence?.destroy();
    this.doc.destroy();
  }

  #listen(target: EventTarget, type: string, fn: EventListener): void {
    target.addEventListener(type, fn);
    this.#listeners.push([target, type, fn]);
  }

  /** Replaces the provider's awareness handler with one that sends my own state only (or nothing). */
  #onlyOwnAwareness(withPresence: boolean): void {
    const provider = this.provider;
    const awareness = provider.awareness;
    awareness.off('update', provider._awarenessUpdateHandler);
    const handler = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }): void => {
      if (!withPresence) return;
      const me = this.doc.clientID;
      if (!added.includes(me) && !updated.includes(me) && !removed.includes(me)) return;
      const ws = provider.ws;
      if (!provider.wsconnected || !ws || ws.readyState !== ws.OPEN) return;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, messageAwareness);
      encoding.writeVarUint8Array(encoder, encodeAwarenessUpdate(awareness, [me]));
      ws.send(encoding.toUint8Array(encoder));
    };
    // destroy() detaches whatever is stored here.
    provider._awarenessUpdateHandler = handler;
    awareness.on('update', handler);
    if (!withPresence) awareness.setLocalState(null);
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

/**
 * Closes after which reconnecting cannot help: the same local state would be refused again
 * (bad request, forbidden, not found, message too big) or the sign-in has gone. Rate limiting
 * and server errors are retried with the provider's backoff; so is the one 4400 that is
 * about timing, not content (too many messages before authentication finished).
 */
export function isTerminalClose(code: number, reason: string): boolean {
  if (code === CLOSE_CODES.MessageTooBig) return true;
  if (code === CLOSE_CODES.RateLimited || code === CLOSE_CODES.ServerError) return false;
  if (code === CLOSE_CODES.BadRequest && /before authentication/.test(reason)) return false;
  return code >= 4400 && code < 4500;
}

export function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage !== 'undefined' ? localStorage : null;
  } catch {
    return null;
  }
}
