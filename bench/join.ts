// bench/join.ts — run by hand: `npm run bench:join` (optionally `-- --joins 20`).
// Measures how long an observer's join takes, from opening the invite link to the first
// decoded remote video frame, split into: socket connected (WebSocket open), transport
// connected (receive RTCPeerConnection 'connected'), first frame (a remote <video> has a
// decoded frame). A candidate and an actor are live in the room throughout; each join is a
// fresh browser context (no cache, no cookies) against a real server and SFU on loopback.
import { parseArgs } from 'node:util';
import { launchBrowser, openInvite, pollUntil } from '../test/helpers/browser.ts';
import { byRole, createSession, startTestStudio } from '../test/helpers/studio.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '20' } } });
const joins = Number(values.joins);

/** Timestamps (ms since navigation start) recorded inside the page, below the app. */
const MARKS = () => {
  const marks: Record<string, number> = {};
  (window as unknown as { __marks: Record<string, number> }).__marks = marks;
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('open', () => (marks.socket ??= performance.now()));
    }
  } as typeof WebSocket;
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(config?: RTCConfiguration) {
      super(config);
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') marks.transport ??= performance.now();
      });
    }
  } as typeof RTCPeerConnection;
  const poll = () => {
    const video = document.querySelector<HTMLVideoElement>('video[data-testid="remote-video"]');
    if (video && video.readyState >= 2 && video.videoWidth > 0) marks.frame = performance.now();
    else setTimeout(poll, 5);
  };
  poll();
};

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const studio = await startTestStudio({ logLevel: 'warn' });
const browser = await launchBrowser();
const { participants } = createSession(studio);

// The people on stage, live for the whole run.
for (const role of ['candidate', 'actor'] as const) {
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, byRole(participants, role)));
  const join = page.getByTestId('join-button');
  await pollUntil(`${role} ready`, 15_000, () => join.isEnabled());
  await join.click();
  await pollUntil(`${role} connected`, 20_000, async () => (await page.evaluate(() => window.simstudio?.state.connectionState)) === 'connected');
}

const observer = byRole(participants, 'leadObserver');
const samples: Array<{ socket: number; transport: number; frame: number }> = [];
for (let i = 0; i < joins; i++) {
  const context = await browser.newContext();
  await context.addInitScript(MARKS);
  const page = await context.newPage();
  await page.goto(await studio.invites.link(studio.baseUrl, observer));
  const marks = await pollUntil('first remote frame', 20_000, async () => {
    const m = await page.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
    return m.socket !== undefined && m.transport !== undefined && m.frame !== undefined ? m : undefined;
  });
  samples.push({ socket: marks.socket!, transport: marks.transport!, frame: marks.frame! });
  await context.close();
}

await browser.close();
await studio.close();

const rows = (['socket', 'transport', 'frame'] as const).map((key) => {
  const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
  return { key, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1)! };
});
const names = { socket: 'socket connected', transport: 'transport connected', frame: 'first remote frame' };
process.stdout.write(`join → first remote frame, ${joins} joins (ms since opening the invite link)\n`);
process.stdout.write(`${'milestone'.padEnd(22)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'max'.padStart(8)}\n`);
for (const r of rows) {
  process.stdout.write(`${names[r.key].padEnd(22)}${r.p50.toFixed(0).padStart(8)}${r.p95.toFixed(0).padStart(8)}${r.max.toFixed(0).padStart(8)}\n`);
}
