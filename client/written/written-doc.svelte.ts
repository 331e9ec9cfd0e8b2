// The candidate's written exercise as this page holds it: one Y.Doc, kept on the server over
// y-websocket (/collab/session/<id>/written) and on this device in IndexedDB, so that neither
// a dropped connection nor a reload or browser crash loses a word. The server decides when
// writing is allowed; this class only follows what it says (close codes and GET /written)
// and turns it into plain states for the page.
//
// "Saved" is exact rather than guessed: besides the document, a second Y.Doc (`#serverView`)
// holds only what the server itself has sent on the current connection. At connect we ask
// for the server's whole document (a SyncStep1 with an empty state vector); afterwards the
// server broadcasts every update it accepted — our own included, after it has stored it —
// so `#serverView` is the server's document. The text is saved when this device has nothing
// the server lacks: same state vector and same deletions (Y.equalSnapshots). A refused
// change never reaches `#serverView`, so it can never show as saved.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { IndexeddbPersistence } from 'y-indexeddb';
import { WebsocketProvider, messageSync } from 'y-websocket';
import * as Y from 'yjs';
import {
  CLOSE_CODES,
  COLLAB_PATH,
  MESSAGE_SYNC,
  SYNC_STEP_1,
  SYNC_STEP_2,
  SYNC_UPDATE,
  WRITTEN_FRAGMENT,
  collabDocName,
  type WrittenStatus,
} from '../../shared/collab.ts';
import { plainText, wordCount } from '../../shared/written-text.ts';

export type WrittenConnection = 'connected' | 'connecting' | 'offline';
export type SaveState = 'saved' | 'saving' | 'offline';
/**
 * unknown: not heard from the server yet; not-started; open: writing allowed; paused: the day
 * is paused, writing resumes with it; closing: time is up, the server may still take offline
 * work for its grace period and then freezes; submitted: the frozen text exists.
 */
export type WrittenPhase = 'unknown' | 'not-started' | 'open' | 'paused' | 'closing' | 'submitted';
export type Frozen = NonNullable<WrittenStatus['frozen']>;

/** The save indicator's words (the page shows exactly these). */
export const SAVE_TEXT: Record<SaveState, string> = {
  saved: 'saved',
  saving: 'saving',
  offline: 'offline — your work is kept on this device',
};

export const POLL_MS = 5000;
/** After a refused change, try again this long after the next edit (not on every keystroke). */
const RETRY_AFTER_EDIT_MS = 2000;
/** Comparing snapshots walks the whole document: do it once typing pauses this long. */
const ACK_CHECK_MS = 150;
const COUNT_MS = 200;
/** IndexedDB that neither opens nor fails (some private modes) must not keep the editor locked. */
const LOCAL_COPY_TIMEOUT_MS = 3000;

const TIME_IS_UP = /^time is up/i;
const NOT_STARTED = /has not started/i;
const PAUSED = /is paused/i;

export function localCopyName(sessionId: string, participantId: string): string {
  return `simstudio-written-${sessionId}-${participantId}`;
}

export class WrittenDoc {
  readonly sessionId: string;
  readonly participantId: string;
  readonly ydoc = new Y.Doc();
  /** The only shared type: the server refuses updates that create any other. */
  readonly fragment: Y.XmlFragment;

  #connection = $state<WrittenConnection>('connecting');
  #synced = $state(false);
  #acked = $state(false);
  #phase = $state<WrittenPhase>('unknown');
  #closesAt = $state<number | null>(null);
  #frozen = $state.raw<Frozen | null>(null);
  #error = $state<string | null>(null);
  /** Why GET /written failed (signed out, not allowed); cleared by the next success. */
  #statusError = $state<string | null>(null);
  #localCopy = $state<'loading' | 'ok' | 'unavailable'>('loading');
  #words = $state(0);
  /** Set when the server closed us for good (time is up, or an error): nothing more is sent. */
  #stopped = $state(false);
  #statusFailed = $state(false);

  #provider: WebsocketProvider | null;
  #persistence: IndexeddbPersistence | null = null;
  #serverView = new Y.Doc();
  #serverViewComplete = false;
  #firstAttemptOver = false;
  #browserOffline = typeof navigator !== 'undefined' && navigator.onLine === false;
  /** Why the last connection was refused, when a later edit may fix it (4400, 1009). */
  #retryOnEdit = false;
  /** Reconnect when the server says the exercise is open (4403 not started, 4401). */
  #retryOnOpen = false;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #ackTimer: ReturnType<typeof setTimeout> | null = null;
  #countTimer: ReturnType<typeof setTimeout> | null = null;
  #pollTimer: ReturnType<typeof setTimeout> | null = null;
  #destroyed = false;
  #cleanups: Array<() => void> = [];

  constructor(sessionId: string, participantId: string) {
    this.sessionId = sessionId;
    this.participantId = participantId;
    this.fragment = this.ydoc.getXmlFragment(WRITTEN_FRAGMENT);
    this.#phase = this.#cachedPhase();

    this.#openLocalCopy();
    this.#provider = this.#openProvider();

    this.ydoc.on('update', this.#onUpdate);
    this.#cleanups.push(() => this.ydoc.off('update', this.#onUpdate));

    if (typeof window !== 'undefined') {
      const offline = (): void => {
        this.#browserOffline = true;
        this.#connection = 'offline';
        // Drop the socket now rather than trust it: a connection that silently survives the
        // outage would deliver what was typed meanwhile as if this page had been connected at
        // the deadline (no grace), and a half-open one just swallows it. A fresh connection is
        // judged by the server's reconnection rules.
        const provider = this.#provider;
        if (provider && provider.shouldConnect && provider.ws) {
          provider.disconnect();
          provider.connect();
        }
      };
      const online = (): void => {
        this.#browserOffline = false;
        this.#connection = this.#provider?.wsconnected ? 'connected' : 'offline';
        // Don't wait for the provider's backoff, nor for the next poll.
        if (this.#provider && this.#provider.shouldConnect && !this.#provider.wsconnected) this.#provider.connect();
        void this.refresh();
      };
      window.addEventListener('offline', offline);
      window.addEventListener('online', online);
      this.#cleanups.push(() => {
        window.removeEventListener('offline', offline);
        window.removeEventListener('online', online);
      });
    }

    this.#countWords();
    void this.#poll();
  }

  // ---- reactive getters ----

  get connection(): WrittenConnection {
    return this.#connection;
  }
  /** The server has sent its document on this connection. */
  get synced(): boolean {
    return this.#synced;
  }
  get saveState(): SaveState {
    if (this.#connection === 'offline') return 'offline';
    return this.#connection === 'connected' && this.#synced && this.#acked ? 'saved' : 'saving';
  }
  get saveText(): string {
    return SAVE_TEXT[this.saveState];
  }
  get phase(): WrittenPhase {
    return this.#phase;
  }
  /** When writing closes (server epoch ms), as last heard. */
  get closesAt(): number | null {
    return this.#closesAt;
  }
  get frozen(): Frozen | null {
    return this.#frozen;
  }
  /** A refusal or failure the candidate must read (the server's own words where it gave any). */
  get error(): string | null {
    return this.#error ?? this.#statusError;
  }
  /** Whether this device keeps a copy (IndexedDB); 'unavailable' in some private modes. */
  get localCopy(): 'loading' | 'ok' | 'unavailable' {
    return this.#localCopy;
  }
  /** The server stopped taking changes from this page (time is up, or a lasting refusal). */
  get stopped(): boolean {
    return this.#stopped;
  }
  get words(): number {
    return this.#frozen ? wordCount(this.#frozen.text) : this.#words;
  }
  /**
   * May the candidate type? Only once the local copy is loaded (typing into an empty editor
   * before it arrives would put the old text after the new), and only while the server says
   * the exercise is open — or when we have not heard from it at all (a reload while offline:
   * the work must go on and the server judges it when the connection is back).
   */
  get editable(): boolean {
    if (this.#destroyed || this.#stopped || this.#localCopy === 'loading') return false;
    if (this.#phase === 'open') return true;
    return this.#phase === 'unknown' && this.#statusFailed;
  }

  // ---- actions ----

  /** Asks the server for the exercise's status now (also done every 5 s). */
  async refresh(): Promise<void> {
    if (this.#destroyed) return;
    const url = `/api/sessions/${encodeURIComponent(this.sessionId)}/written?participantId=${encodeURIComponent(this.participantId)}`;
    let status: WrittenStatus;
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        if (res.status === 401 || res.status === 403) {
          this.#statusError = body?.error?.message ?? 'You are not signed in on this device. Open your invitation link again.';
        }
        this.#statusFailed = true;
        return;
      }
      status = (await res.json()) as WrittenStatus;
    } catch {
      // Offline: keep going on the local copy.
      this.#statusFailed = true;
      return;
    }
    if (this.#destroyed) return;
    this.#statusFailed = false;
    this.#statusError = null;
    this.#apply(status);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const t of [this.#retryTimer, this.#ackTimer, this.#countTimer, this.#pollTimer]) if (t) clearTimeout(t);
    for (const cleanup of this.#cleanups) cleanup();
    this.#closeProvider();
    void this.#persistence?.destroy();
    this.#serverView.destroy();
    this.ydoc.destroy();
  }

  // ---- internals ----

  #openLocalCopy(): void {
    if (typeof indexedDB === 'undefined') {
      this.#localCopy = 'unavailable';
      return;
    }
    const persistence = new IndexeddbPersistence(localCopyName(this.sessionId, this.participantId), this.ydoc);
    this.#persistence = persistence;
    void persistence.whenSynced.then(() => {
      if (this.#localCopy === 'loading') this.#localCopy = 'ok';
    });
    persistence._db.catch(() => {
      this.#localCopy = 'unavailable';
    });
    const timer = setTimeout(() => {
      if (this.#localCopy === 'loading') this.#localCopy = 'unavailable';
    }, LOCAL_COPY_TIMEOUT_MS);
    this.#cleanups.push(() => clearTimeout(timer));
  }

  #openProvider(): WebsocketProvider {
    const origin = location.origin.replace(/^http/, 'ws');
    const provider = new WebsocketProvider(
      `${origin}${COLLAB_PATH.replace(/\/$/, '')}`,
      collabDocName(this.sessionId, 'written'),
      this.ydoc,
      {
        params: { participantId: this.participantId },
        // Tabs of the same browser sync through the server: "saved" then means the server has it.
        disableBc: true,
        shouldReconnect: (event) => this.#shouldReconnect(event),
      },
    );

    // Everything the server sends on the socket also goes into #serverView (see the top).
    const handleSync = provider.messageHandlers[messageSync];
    if (handleSync) {
      provider.messageHandlers[messageSync] = (encoder, decoder, p, fromSocket, type) => {
        if (fromSocket) this.#observeServerSync(decoder);
        handleSync(encoder, decoder, p, fromSocket, type);
      };
    }

    provider.on('status', ({ status }) => {
      if (status === 'connected') {
        this.#firstAttemptOver = true;
        this.#connection = 'connected';
        this.#requestFullState(provider);
      } else if (status === 'disconnected') {
        this.#connection = 'offline';
        this.#synced = false;
        this.#acked = false;
      } else {
        // Only the very first attempt reads "connecting"; retrying after a loss is "offline".
        this.#connection = this.#firstAttemptOver || this.#browserOffline ? 'offline' : 'connecting';
      }
    });
    provider.on('sync', (synced) => {
      this.#synced = synced;
      this.#scheduleAckCheck();
    });
    provider.on('connection-close', () => {
      // Also a first attempt that never opened (no 'disconnected' status follows then).
      this.#firstAttemptOver = true;
      if (!provider.wsconnected) this.#connection = 'offline';
    });
    // Emitted (last) when #shouldReconnect said no: the server decided, so we act on its reason.
    provider.on('closed', ({ code, reason }) => this.#onServerClose(code, reason));
    return provider;
  }

  #closeProvider(): void {
    const provider = this.#provider;
    if (!provider) return;
    this.#provider = null;
    provider.shouldConnect = false;
    provider.disconnect();
    provider.destroy();
    this.#connection = 'offline';
  }

  /** y-websocket asks this after every close the server initiated. */
  #shouldReconnect(event: CloseEvent): boolean {
    if (event.code === CLOSE_CODES.RateLimited) return true; // transient: back off and retry
    if (event.code === CLOSE_CODES.MessageTooBig) return false; // the same message would be refused again
    if (event.code >= 4400 && event.code < 4500) return false; // the server decided; see #onServerClose
    return true; // network trouble, restarts, 4500: try again with backoff
  }

  #onServerClose(code: number, reason: string): void {
    if (code === CLOSE_CODES.Forbidden && TIME_IS_UP.test(reason)) {
      // The written exercise is over: never send anything again. What the server accepted
      // before is what counts; show its frozen text once it exists.
      this.#stopped = true;
      this.#closeProvider();
      if (this.#phase !== 'submitted') this.#setPhase('closing');
      void this.refresh();
      return;
    }
    if (code === CLOSE_CODES.Forbidden && NOT_STARTED.test(reason)) {
      this.#setPhase('not-started');
      this.#retryOnOpen = true;
      return;
    }
    if (code === CLOSE_CODES.Forbidden && PAUSED.test(reason)) {
      // The day is paused: what was refused stays on this device and goes out on resume.
      this.#setPhase('paused');
      this.#retryOnOpen = true;
      return;
    }
    if (code === CLOSE_CODES.BadRequest || code === CLOSE_CODES.MessageTooBig) {
      // E.g. "your text is over the 200 kB limit; the last change was not saved". Everything
      // accepted before stays on the server; the editor stays usable and the next edit (say,
      // shortening the text) is sent again — not in a loop, the same change would be refused.
      this.#error = code === CLOSE_CODES.MessageTooBig ? 'That change was too large to save in one go; the last change was not saved.' : sentence(reason);
      this.#retryOnEdit = true;
      return;
    }
    if (code === CLOSE_CODES.Unauthorized) {
      this.#error = 'SimStudio no longer recognises you on this page. Your work is kept on this device; open your invitation link again to continue saving.';
      this.#retryOnOpen = true;
      return;
    }
    if (code >= 4400 && code < 4500 && code !== CLOSE_CODES.RateLimited) {
      this.#error = reason ? sentence(reason) : 'The server refused the connection.';
      this.#retryOnOpen = true;
    }
  }

  #reconnect(): void {
    const provider = this.#provider;
    if (!provider || this.#stopped || this.#destroyed) return;
    if (!provider.wsconnected && provider.ws === null) provider.connect();
  }

  /** Asks for the server's whole document, so that #serverView starts as a full copy. */
  #requestFullState(provider: WebsocketProvider): void {
    this.#serverView.destroy();
    this.#serverView = new Y.Doc();
    this.#serverViewComplete = false;
    this.#acked = false;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    encoding.writeVarUint(encoder, SYNC_STEP_1);
    encoding.writeVarUint8Array(encoder, Y.encodeStateVector(new Map()));
    // Sent before the provider's own SyncStep1, so the first SyncStep2 back is the full one.
    provider.ws?.send(encoding.toUint8Array(encoder));
  }

  #observeServerSync(decoder: decoding.Decoder): void {
    const peek = decoding.clone(decoder);
    const step = decoding.readVarUint(peek);
    if (step !== SYNC_STEP_2 && step !== SYNC_UPDATE) return;
    Y.applyUpdate(this.#serverView, decoding.readVarUint8Array(peek), 'server');
    if (step === SYNC_STEP_2) this.#serverViewComplete = true;
    this.#scheduleAckCheck();
  }

  #onUpdate = (_update: Uint8Array, origin: unknown): void => {
    if (origin !== this.#provider) {
      // A local change (the editor, or the local copy loading): unsaved until the server echoes it.
      this.#acked = false;
      if (this.#retryOnEdit) this.#scheduleRetry();
    }
    this.#scheduleAckCheck();
    this.#scheduleCount();
  };

  #scheduleRetry(): void {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#reconnect();
    }, RETRY_AFTER_EDIT_MS);
  }

  #scheduleAckCheck(): void {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = null;
      if (this.#destroyed) return;
      const acked = this.#serverViewComplete && Y.equalSnapshots(Y.snapshot(this.ydoc), Y.snapshot(this.#serverView));
      this.#acked = acked;
      if (acked && this.#retryOnEdit) {
        // The server holds everything on this device again: the refusal is resolved.
        this.#retryOnEdit = false;
        this.#error = null;
      }
    }, ACK_CHECK_MS);
  }

  #scheduleCount(): void {
    if (this.#countTimer) return;
    this.#countTimer = setTimeout(() => {
      this.#countTimer = null;
      this.#countWords();
    }, COUNT_MS);
  }

  #countWords(): void {
    if (!this.#destroyed) this.#words = wordCount(plainText(this.fragment));
  }

  async #poll(): Promise<void> {
    if (this.#destroyed || this.#phase === 'submitted') return;
    await this.refresh();
    // (this.phase, not this.#phase: TypeScript would keep its narrowing across the await)
    if (this.#destroyed || this.phase === 'submitted') return;
    this.#pollTimer = setTimeout(() => void this.#poll(), POLL_MS);
  }

  #apply(status: WrittenStatus): void {
    this.#closesAt = status.closesAt;
    if (status.status === 'submitted' && status.frozen) {
      this.#submitted(status.frozen);
      return;
    }
    if (status.status === 'open') {
      this.#setPhase('open');
      if (this.#retryOnOpen) {
        this.#retryOnOpen = false;
        if (this.#error && !this.#retryOnEdit) this.#error = null;
        this.#reconnect();
      }
    } else if (status.status === 'not-started') {
      this.#setPhase('not-started');
    } else if (status.status === 'paused') {
      this.#setPhase('paused');
      this.#retryOnOpen = true;
    } else {
      // grace, or submitted while the snapshot is being written: writing is over. The
      // provider keeps trying, so work typed offline before the deadline still reaches the
      // server within its grace; the server alone decides whether it counts.
      this.#setPhase('closing');
    }
  }

  #submitted(frozen: Frozen): void {
    this.#frozen = frozen;
    this.#setPhase('submitted');
    this.#stopped = true;
    this.#closeProvider();
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    // The server's frozen copy is the record now: don't leave the text on this device.
    const persistence = this.#persistence;
    this.#persistence = null;
    void persistence?.clearData();
  }

  #setPhase(phase: WrittenPhase): void {
    this.#phase = phase;
    try {
      localStorage.setItem(`${localCopyName(this.sessionId, this.participantId)}-phase`, phase);
    } catch {
      // Storage may be unavailable; only the offline-reload hint is lost.
    }
  }

  /** After a reload while offline: a page that knew time was up stays locked. */
  #cachedPhase(): WrittenPhase {
    try {
      const cached = localStorage.getItem(`${localCopyName(this.sessionId, this.participantId)}-phase`);
      if (cached === 'closing' || cached === 'submitted') return 'closing';
    } catch {
      // ignore
    }
    return 'unknown';
  }
}

/** "your text is over …" → "Your text is over ….": the server's words as a sentence. */
function sentence(reason: string): string {
  const text = reason.trim();
  if (!text) return text;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
