// The assessment day as this page sees it: the latest DayState from the server, who is here
// (presence), and the offset between this computer's clock and the server's, so that every
// page shows the same countdown however wrong its own clock is.
//
// Clock sync is NTP-style over the page's signalling socket: at every connect 5 `clockSync`
// samples are taken, the first at once and the others CLOCK_SAMPLE_SPACING_MS apart (they do not
// crowd the media join's own requests then, and each sees the network at another moment), then
// one more every 30 s; each gives
// offset = serverNow − (t0 + t1) / 2 and round trip t1 − t0, and the offset of the sample with
// the smallest round trip (of the recent ones) is used. t0 and t1 are read from the monotonic
// clock (performance.now()), not Date.now(): a step of this computer's wall clock (an NTP
// correction, someone changing the time) would otherwise give a negative round trip that wins
// as "best" and skews every countdown by half the step until the window rolls over, and would
// leave all earlier samples stale. If the wall clock does jump against the monotonic one (a
// step, or a suspend that paused the monotonic clock), the samples are dropped and retaken.
import { timeLeftMs, type DayControl, type DayState, type PhaseSpec } from '../../shared/assessment.ts';
import type { LeadSignal, LeadSignalKind, PresenceInfo, RecordingStatus } from '../../shared/protocol.ts';
import { request, type RequestResult, type SignallingSocket } from './signalling.ts';

export const CLOCK_SAMPLES_AT_CONNECT = 5;
export const CLOCK_RESYNC_MS = 30_000;
export const CLOCK_SAMPLE_SPACING_MS = 250;
/** How many recent samples the best round trip is chosen from. */
const SAMPLE_WINDOW = 8;
/** The lead observer's page keeps the last few actors' signals until dismissed. */
const MAX_SIGNALS_KEPT = 5;
/** The wall clock moved this much against the monotonic clock: the samples are stale. */
const CLOCK_JUMP_MS = 1_000;

/** Milliseconds on a clock that wall-clock steps do not move. */
const monotonicNow = (): number => performance.now();
/** Date.now() − monotonic clock: constant unless the wall clock steps (or the monotonic one paused). */
const wallMinusMonotonic = (): number => Date.now() - monotonicNow();

interface ClockSample {
  roundTripMs: number;
  /** server clock − monotonic clock */
  offsetMs: number;
}

/** The untyped listener API of a Socket.IO socket (so listeners can be removed again). */
interface Listenable {
  on(event: string, handler: (...args: never[]) => void): unknown;
  off(event: string, handler: (...args: never[]) => void): unknown;
}

export class DayClock {
  #state = $state.raw<DayState | null>(null);
  /** server clock − monotonic clock, in milliseconds. */
  #offsetMs = $state(0);
  #synced = $state(false);
  #settled = $state(false);
  #presence = $state.raw<PresenceInfo | null>(null);
  #signals = $state.raw<LeadSignal[]>([]);
  #recording = $state.raw<RecordingStatus | null>(null);
  #connected = $state(false);

  readonly #socket: SignallingSocket;
  #samples: ClockSample[] = [];
  #syncing = false;
  /** Samples asked for while a sync was still running (e.g. a reconnect mid-sync). */
  #queued = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #listeners: Array<[string, (...args: never[]) => void]> = [];
  /** wallMinusMonotonic() when the samples were taken (to notice wall-clock jumps). */
  #wallBase = wallMinusMonotonic();

  constructor(socket: SignallingSocket) {
    this.#socket = socket;
    this.#listen('connect', () => {
      this.#connected = true;
      this.#samples = [];
      this.#wallBase = wallMinusMonotonic();
      void this.#sync(CLOCK_SAMPLES_AT_CONNECT);
    });
    this.#listen('disconnect', () => {
      this.#connected = false;
    });
    this.#listen('dayState', (state: DayState) => {
      // Until a real sample exists, the state's own server time is a fair first guess.
      if (this.#samples.length === 0) this.#offsetMs = state.serverNow - monotonicNow();
      this.#state = state;
      this.#settled = true;
    });
    this.#listen('recording', (status: RecordingStatus) => {
      this.#recording = status;
    });
    this.#listen('leadSignal', (signal: LeadSignal) => {
      this.#signals = [...this.#signals, signal].slice(-MAX_SIGNALS_KEPT);
    });
    this.#listen('presence', (presence: PresenceInfo) => {
      this.#presence = presence;
      // The server sends dayState (if any) before presence: after presence we know.
      this.#settled = true;
    });
    this.#timer = setInterval(() => void this.#sync(1), CLOCK_RESYNC_MS);
    if (socket.connected) {
      this.#connected = true;
      void this.#sync(CLOCK_SAMPLES_AT_CONNECT);
    }
  }

  // ---- reactive getters ----

  /** The latest day state (null before it arrives, and always for sessions without a day). */
  get state(): DayState | null {
    return this.#state;
  }
  /** Whether the server has said whether this session has an assessment day. */
  get settled(): boolean {
    return this.#settled;
  }
  /** This session runs an assessment day (otherwise it is an open room). */
  get hasDay(): boolean {
    return this.#state !== null;
  }
  /** server clock − Date.now(), in milliseconds. */
  get offsetMs(): number {
    return this.serverNow() - Date.now();
  }
  /** At least one clockSync sample has been taken. */
  get synced(): boolean {
    return this.#synced;
  }
  /** Actors' signals to the lead observer (lead observer and coordinator pages), oldest first. */
  get signals(): LeadSignal[] {
    return this.#signals;
  }

  dismissSignal(signal: LeadSignal): void {
    this.#signals = this.#signals.filter((s) => s !== signal);
  }

  /** Actor: tells the lead observer something without speaking in the scene. */
  signalLead(kind: LeadSignalKind): Promise<RequestResult<{ delivered: number }>> {
    return request(this.#socket, 'signalLead', { kind });
  }

  get presence(): PresenceInfo | null {
    return this.#presence;
  }
  /** The server recorder's state for this session. */
  get recording(): RecordingStatus | null {
    return this.#recording;
  }
  get connected(): boolean {
    return this.#connected;
  }
  /** The phase that is running or paused now (null while waiting and when complete). */
  get phase(): PhaseSpec | null {
    const s = this.#state;
    if (!s || (s.status !== 'running' && s.status !== 'paused')) return null;
    return s.phases[s.phaseIndex] ?? null;
  }

  // ---- clock ----

  /** The server's clock now, as far as this page can tell. */
  serverNow(): number {
    this.#noticeClockJump();
    return monotonicNow() + this.#offsetMs;
  }

  /** Milliseconds left in the current phase (negative: a soft phase running over); null without a deadline. */
  remainingMs(): number | null {
    const s = this.#state;
    return s ? timeLeftMs(s, this.serverNow()) : null;
  }

  // ---- control (lead observer, coordinator) ----

  async control(control: DayControl): Promise<RequestResult<DayState>> {
    const result = await request(this.#socket, 'dayControl', control);
    // The server broadcasts the new state too; take it now so the page reacts at once.
    if (result.ok && (this.#state === null || result.data.serverNow >= this.#state.serverNow)) this.#state = result.data;
    return result;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const socket = this.#socket as unknown as Listenable;
    for (const [event, handler] of this.#listeners) socket.off(event, handler);
    this.#listeners = [];
  }

  // ---- internals ----

  #listen(event: string, handler: (...args: never[]) => void): void {
    (this.#socket as unknown as Listenable).on(event, handler);
    this.#listeners.push([event, handler]);
  }

  /** A wall-clock jump since the samples were taken: retake them (the monotonic clock may have paused). */
  #noticeClockJump(): void {
    const base = wallMinusMonotonic();
    if (Math.abs(base - this.#wallBase) <= CLOCK_JUMP_MS) return;
    this.#wallBase = base;
    this.#samples = [];
    if (this.#socket.connected) void this.#sync(CLOCK_SAMPLES_AT_CONNECT);
  }

  async #sync(count: number): Promise<void> {
    if (this.#closed) return;
    if (this.#syncing) {
      this.#queued = Math.max(this.#queued, count);
      return;
    }
    this.#syncing = true;
    try {
      for (let i = 0; i < count && !this.#closed && this.#socket.connected; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, CLOCK_SAMPLE_SPACING_MS));
        if (this.#closed || !this.#socket.connected) break;
        const t0 = monotonicNow();
        const reply = await request(this.#socket, 'clockSync', { clientSentAt: Date.now() });
        const t1 = monotonicNow();
        if (!reply.ok) break;
        this.#samples = [...this.#samples, { roundTripMs: t1 - t0, offsetMs: reply.data.serverNow - (t0 + t1) / 2 }].slice(
          -SAMPLE_WINDOW,
        );
        const best = this.#samples.reduce((a, b) => (b.roundTripMs < a.roundTripMs ? b : a));
        this.#offsetMs = best.offsetMs;
        this.#synced = true;
        // The reply came after the server's connection-time dayState: nothing more to wait for.
        this.#settled = true;
      }
    } finally {
      this.#syncing = false;
    }
    const queued = this.#queued;
    this.#queued = 0;
    if (queued > 0 && this.#socket.connected) await this.#sync(queued);
  }
}
