// Clock sync on the wire: the page's own DayClock (client/lib/day-clock.svelte.ts) on a real
// Socket.IO connection to a real server process, through a TCP proxy that delays every byte
// up and down by set amounts, with this process's wall clock skewed by seconds. The countdown
// it computes matches the server's clock to within half the round trip, off by half the
// asymmetry of the link (what NTP-style sync can know), whatever the skew.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import type { DayState } from '../../shared/assessment.ts';
import { CLOCK_SAMPLES_AT_CONNECT, DayClock } from '../../client/lib/day-clock.svelte.ts';
import type { SignallingSocket } from '../../client/lib/signalling.ts';
import {
  bookOnServer,
  dayControl,
  dayStateOnConnect,
  freePort,
  inviteOf,
  kill9,
  socketFor,
  startServerProcess,
  type ServerDay,
  type ServerProcess,
} from '../helpers/server-process.ts';
import { testTemplate } from '../helpers/assessment.ts';

interface DelayingProxy {
  url: string;
  /** Everything the server sent to clients so far, as text (Socket.IO frames are JSON). */
  downstream(): string;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `port` that holds every chunk `upMs` on its way to the server and `downMs`
 * on its way back, in order (WebSocket frames pass through untouched).
 */
async function delayingProxy(port: number, upMs: number, downMs: number): Promise<DelayingProxy> {
  let seen = '';
  const sockets = new Set<net.Socket>();
  const delayed = (to: net.Socket, delayMs: number, onChunk?: (chunk: Buffer) => void) => {
    // One queue per direction: chunks leave in arrival order, each `delayMs` after it arrived.
    const queue: Array<{ at: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | null = null;
    const drain = (): void => {
      timer = null;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const { chunk } = queue.shift()!;
        onChunk?.(chunk);
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0]!.at - performance.now()));
    };
    return (chunk: Buffer): void => {
      queue.push({ at: performance.now() + delayMs, chunk });
      if (!timer) timer = setTimeout(drain, delayMs);
    };
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', delayed(upstream, upMs));
    upstream.on('data', delayed(client, downMs, (chunk) => (seen += chunk.toString('latin1'))));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    downstream: () => seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const TEMPLATE = testTemplate('clock-sync', 'Clock sync', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 900, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 900, timer: 'soft' },
  { kind: 'reflectiveConversation', durationSeconds: 900, timer: 'soft' },
]);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-clock-'));
let server: ServerProcess;
let day: ServerDay;
let started: DayState;
/** The machine's real clock, which the server process reads (this process's Date.now is skewed). */
const realNow = Date.now.bind(Date);

beforeAll(async () => {
  server = await startServerProcess(dataDir, await freePort());
  day = await bookOnServer(server, dataDir, TEMPLATE);
  const { socket } = await dayStateOnConnect(server, inviteOf(day, 'leadObserver'));
  started = await dayControl(socket, { action: 'start' });
  socket.disconnect();
}, 120_000);

afterAll(async () => {
  if (server) await kill9(server);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Server replies to clockSync that reached this client ({ok, data: {serverNow}}). */
function clockReplies(proxy: DelayingProxy): number {
  return proxy.downstream().split('"data":{"serverNow":').length - 1;
}

for (const { upMs, downMs, wallSkewMs } of [
  { upMs: 150, downMs: 30, wallSkewMs: 5_000 },
  { upMs: 60, downMs: 60, wallSkewMs: -3_000 },
  { upMs: 10, downMs: 200, wallSkewMs: 90_000 },
]) {
  it(`link ${upMs} ms up / ${downMs} ms down, this computer's clock ${wallSkewMs} ms off: countdown within half the asymmetry`, async () => {
    const proxy = await delayingProxy(Number(new URL(server.baseUrl).port), upMs, downMs);
    const socket = await socketFor(server, inviteOf(day, 'candidate'), proxy.url);
    // Skew this page's clocks: the wall clock by seconds, the monotonic clock's origin anywhere.
    const realPerf = performance.now.bind(performance);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + wallSkewMs);
    vi.spyOn(performance, 'now').mockImplementation(() => realPerf() + 777_777);
    // Listening before the connection opens, as the page does (the server sends the day's
    // state right after the handshake).
    const clock = new DayClock(socket as unknown as SignallingSocket);
    socket.connect();
    try {
      await expect.poll(() => clockReplies(proxy), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(CLOCK_SAMPLES_AT_CONNECT);
      await expect.poll(() => clock.state?.status, { timeout: 10_000 }).toBe('running');
      expect(clock.synced).toBe(true);

      const expectedError = (upMs - downMs) / 2;
      const error = clock.serverNow() - realNow();
      // NTP: the estimate is off by half the link's asymmetry; the slack covers how unevenly a
      // loaded machine handles the request on each side (it cannot exceed half the round trip).
      process.stdout.write(`[clock-sync] ${upMs}/${downMs} ms, skew ${wallSkewMs} ms: off by ${error.toFixed(1)} ms (half the asymmetry: ${expectedError})\n`);
      expect(Math.abs(error - expectedError)).toBeLessThanOrEqual(40);
      expect(Math.abs(error)).toBeLessThanOrEqual((upMs + downMs) / 2 + 40);
      // The countdown: the server's deadline minus the server's clock, not this computer's.
      const countdownError = clock.remainingMs()! - (started.deadline! - realNow());
      expect(Math.abs(countdownError + expectedError)).toBeLessThanOrEqual(40);
      expect(Math.abs(clock.offsetMs + wallSkewMs - expectedError)).toBeLessThanOrEqual(40);
    } finally {
      clock.close();
      socket.disconnect();
      await proxy.close();
    }
  });
}
