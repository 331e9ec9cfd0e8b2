// Clock sync as a page computes it (client/lib/day-clock.svelte.ts), driven through a socket
// whose latency up and down and whose server clock skew are injected, on fake timers so every
// figure is exact. The NTP bound: with a round trip R whose halves may differ, the estimated
// offset is off by at most R/2 (exactly half the asymmetry); the sample with the smallest
// round trip wins; a reconnect starts afresh; a step of this computer's wall clock does not
// move the countdown.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DayState } from '../../shared/assessment.ts';
import { CLOCK_RESYNC_MS, CLOCK_SAMPLE_SPACING_MS, CLOCK_SAMPLES_AT_CONNECT, DayClock } from '../../client/lib/day-clock.svelte.ts';
import type { SignallingSocket } from '../../client/lib/signalling.ts';

/** This computer's wall clock when the test starts (the server's is `skewMs` ahead of it). */
const CLIENT_EPOCH = 1_800_000_000_000;

interface Latency {
  upMs: number;
  downMs: number;
}

/**
 * A Socket.IO socket as far as DayClock uses it. The "server" answers clockSync with its own
 * clock, which runs on true time (the fake monotonic clock) plus `skewMs`, so stepping this
 * computer's wall clock (vi.setSystemTime) leaves the server's alone.
 */
class LaggySocket {
  connected = false;
  skewMs: number;
  /** Latency of the next samples, in order; the last one repeats. */
  latencies: Latency[];
  readonly sent: Array<{ event: string; at: number }> = [];
  readonly #handlers = new Map<string, Set<(...args: never[]) => void>>();

  constructor(skewMs: number, latencies: Latency[]) {
    this.skewMs = skewMs;
    this.latencies = latencies;
  }

  /** The server's clock now. */
  serverClock(): number {
    return CLIENT_EPOCH + (performance.now() - trueZero) + this.skewMs;
  }

  on(event: string, handler: (...args: never[]) => void): this {
    if (!this.#handlers.has(event)) this.#handlers.set(event, new Set());
    this.#handlers.get(event)!.add(handler);
    return this;
  }

  off(event: string, handler: (...args: never[]) => void): this {
    this.#handlers.get(event)?.delete(handler);
    return this;
  }

  fire(event: string, ...args: unknown[]): void {
    for (const handler of this.#handlers.get(event) ?? []) (handler as (...a: unknown[]) => void)(...args);
  }

  connect(): void {
    this.connected = true;
    this.fire('connect');
  }

  disconnect(): void {
    this.connected = false;
    this.fire('disconnect');
  }

  /** A dayState built now on the server, delivered after `downMs`. */
  sendDayState(state: Omit<DayState, 'serverNow'>, downMs: number): void {
    const built = { ...state, serverNow: this.serverClock() } as DayState;
    setTimeout(() => this.fire('dayState', built), downMs);
  }

  timeout(ms: number): { emit(event: string, payload: unknown, ack: (err: Error | null, result: unknown) => void): void } {
    return {
      emit: (event, _payload, ack) => {
        const { upMs, downMs } = this.latencies.length > 1 ? this.latencies.shift()! : this.latencies[0]!;
        this.sent.push({ event, at: Date.now() });
        let answered = false;
        const timer = setTimeout(() => {
          if (!answered) ack(new Error('operation has timed out'), undefined);
          answered = true;
        }, ms);
        setTimeout(() => {
          if (event !== 'clockSync') throw new Error(`unexpected request ${event}`);
          const reply = { ok: true, data: { serverNow: this.serverClock() } };
          setTimeout(() => {
            if (answered || !this.connected) return;
            answered = true;
            clearTimeout(timer);
            ack(null, reply);
          }, downMs);
        }, upMs);
      },
    };
  }

  asSignalling(): SignallingSocket {
    return this as unknown as SignallingSocket;
  }
}

/** A running phase whose deadline is `leftMs` away on the server's clock. */
function runningPhase(socket: LaggySocket, leftMs: number): Omit<DayState, 'serverNow'> {
  const now = socket.serverClock();
  return {
    sessionId: 's',
    status: 'running',
    phases: [{ kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' }],
    phaseIndex: 0,
    phaseStartedAt: now - 1000,
    deadline: now + leftMs,
    pausedAt: null,
  } as Omit<DayState, 'serverNow'>;
}

/** Lets the connect-time samples complete (each takes its round trip, and they are spaced). */
async function settle(latencies: Latency[]): Promise<void> {
  const spacing = (latencies.length - 1) * CLOCK_SAMPLE_SPACING_MS;
  await vi.advanceTimersByTimeAsync(latencies.reduce((sum, l) => sum + l.upMs + l.downMs, 0) + spacing + 1);
}

/** How far the page's countdown is from the server's true one, in ms. */
function countdownError(clock: DayClock, socket: LaggySocket, deadline: number): number {
  return clock.remainingMs()! - (deadline - socket.serverClock());
}

let clock: DayClock | undefined;
/** The monotonic clock's reading when the wall clock read CLIENT_EPOCH (true time zero). */
let trueZero = 0;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
  vi.setSystemTime(CLIENT_EPOCH);
  trueZero = performance.now();
});

afterEach(() => {
  clock?.close();
  clock = undefined;
  vi.useRealTimers();
});

describe('clock sync (NTP-style) with injected latency and skew', () => {
  it('symmetric latency: the offset is exactly the skew, and the countdown is the server’s', async () => {
    const latency = { upMs: 40, downMs: 40 };
    const socket = new LaggySocket(5_000, [latency]);
    clock = new DayClock(socket.asSignalling());
    socket.connect();
    await settle(Array(CLOCK_SAMPLES_AT_CONNECT).fill(latency));
    expect(socket.sent.filter((s) => s.event === 'clockSync')).toHaveLength(CLOCK_SAMPLES_AT_CONNECT);
    expect(clock.synced).toBe(true);
    expect(clock.offsetMs).toBe(5_000);

    const state = runningPhase(socket, 60_000);
    socket.sendDayState(state, 40);
    await vi.advanceTimersByTimeAsync(40);
    expect(countdownError(clock, socket, state.deadline!)).toBe(0);
    await vi.advanceTimersByTimeAsync(12_345);
    expect(clock.remainingMs()).toBe(60_000 - 40 - 12_345);
  });

  it('asymmetric latency: off by exactly half the asymmetry, never more than half the round trip', async () => {
    for (const [skewMs, upMs, downMs] of [
      [-3_000, 90, 10],
      [7_500, 5, 155],
      [0, 250, 2],
    ] as const) {
      const socket = new LaggySocket(skewMs, [{ upMs, downMs }]);
      const c = new DayClock(socket.asSignalling());
      socket.connect();
      await settle(Array(CLOCK_SAMPLES_AT_CONNECT).fill({ upMs, downMs }));
      const error = c.offsetMs - skewMs;
      expect(error).toBe((upMs - downMs) / 2);
      expect(Math.abs(error)).toBeLessThanOrEqual((upMs + downMs) / 2);
      const state = runningPhase(socket, 90_000);
      socket.sendDayState(state, downMs);
      await vi.advanceTimersByTimeAsync(downMs);
      expect(countdownError(c, socket, state.deadline!)).toBe(-error);
      c.close();
    }
  });

  it('jitter: the sample with the smallest round trip decides, whatever order samples arrive in', async () => {
    const latencies: Latency[] = [
      { upMs: 300, downMs: 20 },
      { upMs: 20, downMs: 400 },
      { upMs: 25, downMs: 25 }, // the best: 50 ms, symmetric
      { upMs: 150, downMs: 150 },
      { upMs: 80, downMs: 10 },
    ];
    const socket = new LaggySocket(-12_000, [...latencies]);
    clock = new DayClock(socket.asSignalling());
    socket.connect();
    await settle(latencies);
    expect(clock.offsetMs).toBe(-12_000);
  });

  it('before the first sample, the day state’s own server time is the first guess; samples then correct it', async () => {
    const socket = new LaggySocket(4_000, [{ upMs: 500, downMs: 500 }]);
    clock = new DayClock(socket.asSignalling());
    socket.connect();
    const state = runningPhase(socket, 30_000);
    socket.sendDayState(state, 120); // arrives while the first sample is in flight
    await vi.advanceTimersByTimeAsync(120);
    expect(clock.synced).toBe(false);
    expect(clock.offsetMs).toBe(4_000 - 120); // late by its delivery time
    await vi.advanceTimersByTimeAsync(1_000);
    expect(clock.synced).toBe(true);
    expect(clock.offsetMs).toBe(4_000);
    expect(countdownError(clock, socket, state.deadline!)).toBe(0);
  });

  it('resyncs every 30 s, and a reconnect drops the old samples (the server clock was corrected meanwhile)', async () => {
    const latency = { upMs: 10, downMs: 10 };
    const socket = new LaggySocket(1_000, [latency]);
    clock = new DayClock(socket.asSignalling());
    socket.connect();
    await settle(Array(CLOCK_SAMPLES_AT_CONNECT).fill(latency));
    const syncs = () => socket.sent.filter((s) => s.event === 'clockSync').length;
    expect(syncs()).toBe(CLOCK_SAMPLES_AT_CONNECT);
    await vi.advanceTimersByTimeAsync(CLOCK_RESYNC_MS + 20);
    expect(syncs()).toBe(CLOCK_SAMPLES_AT_CONNECT + 1);

    socket.disconnect();
    socket.skewMs = 3_500; // the server's clock was stepped while we were away
    socket.latencies = [{ upMs: 60, downMs: 60 }]; // and the new path is slower than the old best
    socket.connect();
    await settle(Array(CLOCK_SAMPLES_AT_CONNECT).fill(socket.latencies[0]));
    expect(clock.offsetMs).toBe(3_500);
  });

  it('a step of this computer’s wall clock between samples does not move the countdown', async () => {
    const latency = { upMs: 30, downMs: 30 };
    const socket = new LaggySocket(2_000, [latency]);
    clock = new DayClock(socket.asSignalling());
    socket.connect();
    await settle(Array(CLOCK_SAMPLES_AT_CONNECT).fill(latency));
    const state = runningPhase(socket, 120_000);
    socket.sendDayState(state, 30);
    await vi.advanceTimersByTimeAsync(30);
    expect(countdownError(clock, socket, state.deadline!)).toBe(0);

    vi.setSystemTime(Date.now() + 7_000); // e.g. the OS corrects its clock by 7 s
    await vi.advanceTimersByTimeAsync(1_000);
    expect(Math.abs(countdownError(clock, socket, state.deadline!))).toBeLessThanOrEqual(30);
    // And after the next periodic resync too (same round trips as before the step).
    await vi.advanceTimersByTimeAsync(CLOCK_RESYNC_MS);
    expect(Math.abs(countdownError(clock, socket, state.deadline!))).toBeLessThanOrEqual(30);
    expect(clock.offsetMs).toBe(2_000 - 7_000);
  });

  it('a step back of the wall clock while a sample is in flight does not poison the estimate', async () => {
    const latency = { upMs: 30, downMs: 30 };
    const socket = new LaggySocket(-1_500, [latency]);
    const constructedAt = performance.now();
    clock = new DayClock(socket.asSignalling());
    socket.connect();
    await settle(Array(CLOCK_SAMPLES_AT_CONNECT).fill(latency));
    const state = runningPhase(socket, 300_000);
    socket.sendDayState(state, 30);
    await vi.advanceTimersByTimeAsync(30);

    // A periodic sample leaves; the wall clock jumps back 10 s before its reply arrives.
    await vi.advanceTimersByTimeAsync(constructedAt + CLOCK_RESYNC_MS + 10 - performance.now());
    const inFlight = socket.sent.length;
    vi.setSystemTime(Date.now() - 10_000);
    await vi.advanceTimersByTimeAsync(100);
    expect(socket.sent.length).toBeGreaterThanOrEqual(inFlight); // that sample was answered meanwhile
    expect(Math.abs(countdownError(clock, socket, state.deadline!))).toBeLessThanOrEqual(30);
    // Minutes later (the old code kept the bad sample for its whole window of 8).
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(CLOCK_RESYNC_MS);
      expect(Math.abs(countdownError(clock, socket, state.deadline!))).toBeLessThanOrEqual(30);
    }
    expect(clock.offsetMs).toBe(-1_500 + 10_000);
  });
});
