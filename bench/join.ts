// bench/join.ts — run by hand: `npm run bench:join` (optionally `-- --joins 20`).
// Measures how long an observer's join takes, from opening the invite link to the first
// decoded remote video frame, split into: socket connected (WebSocket open), transport
// connected (receive RTCPeerConnection 'connected'), first frame (a remote <video> has a
// decoded frame). A candidate and an actor are live in the room throughout; each join is a
// fresh browser context (no cache, no cookies) against a real server and SFU on loopback.
// Also prints the room's bundle: the JavaScript each role's page downloaded before its first
// remote frame (as served, and gzip-compressed as a real network would carry it).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchBrowser, openInvite, pollUntil } from '../test/helpers/browser.ts';
import { byRole, createSession, signIn, startTestStudio } from '../test/helpers/studio.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '20' } } });
const joins = Number(values.joins);
const CLIENT_DIR = path.join(import.meta.dirname, '..', 'dist', 'client');

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

type Marks = { socket?: number; transport?: number; frame?: number };

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function marksOf(page: Page): Promise<Marks> {
  return page.evaluate(() => (window as unknown as { __marks: Marks }).__marks);
}

/** The page's own JavaScript files that had arrived by its first remote frame. */
async function scriptsBeforeFrame(page: Page, frame: number): Promise<string[]> {
  return page.evaluate((until) => {
    return (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .map((e) => ({ url: new URL(e.name), end: e.responseEnd }))
      .filter((e) => e.url.origin === location.origin && e.url.pathname.endsWith('.js') && e.end <= until)
      .map((e) => e.url.pathname);
  }, frame);
}

const bundles = new Map<string, string[]>();
const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;

const studio = await startTestStudio({ logLevel: 'warn' });
const browser = await launchBrowser();
const { participants } = createSession(studio);

// The people on stage, live for the whole run.
const onStage = new Map<string, Page>();
for (const role of ['candidate', 'actor'] as const) {
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, byRole(participants, role)), { initScript: MARKS, arg: 0 });
  const join = page.getByTestId('join-button');
  await pollUntil(`${role} ready`, 15_000, () => join.isEnabled());
  await join.click();
  await pollUntil(`${role} connected`, 20_000, async () => (await page.evaluate(() => window.simstudio?.state.connectionState)) === 'connected');
  onStage.set(role, page);
}
for (const [role, page] of onStage) {
  const { frame } = await pollUntil(`${role} sees a remote frame`, 20_000, async () => ((await marksOf(page)).frame !== undefined ? marksOf(page) : undefined));
  bundles.set(role, await scriptsBeforeFrame(page, frame!));
}

const observer = byRole(participants, 'leadObserver');
// The privacy and recording notices are answered once, as the observer's first visit would:
// each join below then goes straight to the room, as a returning observer's does.
await signIn(studio, observer);
const samples: Array<{ socket: number; transport: number; frame: number }> = [];
for (let i = 0; i < joins; i++) {
  const context = await browser.newContext();
  await context.addInitScript(MARKS);
  const page = await context.newPage();
  await page.goto(await studio.invites.link(studio.baseUrl, observer));
  const marks = await pollUntil('first remote frame', 20_000, async () => {
    const m = await marksOf(page);
    return m.socket !== undefined && m.transport !== undefined && m.frame !== undefined ? m : undefined;
  });
  samples.push({ socket: marks.socket!, transport: marks.transport!, frame: marks.frame! });
  if (i === 0) bundles.set('observer', await scriptsBeforeFrame(page, marks.frame!));
  await context.close();
}

await browser.close();
await studio.close();

process.stdout.write(`room bundle: JavaScript downloaded before the first remote frame (as served / gzip -6)\n`);
process.stdout.write(`${'role'.padEnd(12)}${'files'.padStart(6)}${'served'.padStart(12)}${'gzip'.padStart(12)}\n`);
for (const [role, files] of bundles) {
  let served = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = fs.readFileSync(path.join(CLIENT_DIR, file));
    served += bytes.length;
    gzip += gzipSync(bytes, { level: 6 }).length;
  }
  process.stdout.write(`${role.padEnd(12)}${String(files.length).padStart(6)}${kB(served).padStart(12)}${kB(gzip).padStart(12)}\n`);
}

const rows = (['socket', 'transport', 'frame'] as const).map((key) => {
  const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
  return { key, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1)! };
});
const names = { socket: 'socket connected', transport: 'transport connected', frame: 'first remote frame' };
process.stdout.write(`\njoin → first remote frame, ${joins} joins (ms since opening the invite link)\n`);
process.stdout.write(`${'milestone'.padEnd(22)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'max'.padStart(8)}\n`);
for (const r of rows) {
  process.stdout.write(`${names[r.key].padEnd(22)}${r.p50.toFixed(0).padStart(8)}${r.p95.toFixed(0).padStart(8)}${r.max.toFixed(0).padStart(8)}\n`);
}
process.stdout.write(`first remote frame, every join: ${samples.map((s) => s.frame.toFixed(0)).join(' ')}\n`);
