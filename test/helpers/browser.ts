// Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with fake
// camera and microphone. Each participant gets its own browser context (own cookies).
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openLinkAcceptingNotices } from './privacy.ts';

export const CHROMIUM = process.env.SIMSTUDIO_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Background tabs must keep decoding: every participant's page is "visible" here.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

/** `extraArgs`: more Chromium switches (a camera and microphone fed from files, say). */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run \`apt-get install chromium\` (npm test does it as root)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs] });
}

/**
 * Counts what the page does with media at the browser API level, below the app: every
 * RTCPeerConnection it creates and every getUserMedia call.
 */
export const INSTRUMENT = () => {
  const w = window as unknown as { __pcs: RTCPeerConnection[]; __gum: number };
  w.__pcs = [];
  w.__gum = 0;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
    }
  } as typeof RTCPeerConnection;
  const md = navigator.mediaDevices;
  if (md) {
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = (c?: MediaStreamConstraints) => {
      w.__gum++;
      return gum(c);
    };
  }
};

/** Uncaught errors of every page opened through openInvite: a test's pages should have none. */
export const pageErrors: string[] = [];

export interface ParticipantPage {
  context: BrowserContext;
  page: Page;
}

export async function openInvite(
  browser: Browser,
  inviteLink: string,
  extra?: { initScript: (arg: number) => void; arg: number },
): Promise<ParticipantPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(INSTRUMENT);
  if (extra) await context.addInitScript(extra.initScript, extra.arg);
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    pageErrors.push(err.message);
    process.stderr.write(`[page error] ${err.message}\n${(err.stack ?? '').split('\n').slice(0, 6).join('\n')}\n`);
  });
  // The notices are accepted on the way in (test/helpers/privacy.ts): every test's participant
  // reaches the device check or the room; test/e2e/privacy.test.ts answers them on the page.
  await page.goto(await openLinkAcceptingNotices(context, inviteLink));
  return { context, page };
}

/** Low-level media facts read from the page's own RTCPeerConnections. */
export interface PeerConnectionFacts {
  peerConnections: number;
  getUserMediaCalls: number;
  inbound: Array<{ kind: string; bytesReceived: number; framesDecoded: number | undefined; trackIdentifier: string }>;
  outbound: Array<{ kind: string; bytesSent: number }>;
}

export async function peerConnectionFacts(page: Page): Promise<PeerConnectionFacts> {
  return page.evaluate(async () => {
    const w = window as unknown as { __pcs: RTCPeerConnection[]; __gum: number };
    const facts: PeerConnectionFacts = { peerConnections: 0, getUserMediaCalls: w.__gum, inbound: [], outbound: [] };
    for (const pc of w.__pcs) {
      if (pc.connectionState === 'closed') continue;
      facts.peerConnections++;
      const stats = await pc.getStats();
      stats.forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp') {
          facts.inbound.push({
            kind: String(s.kind),
            bytesReceived: Number(s.bytesReceived ?? 0),
            framesDecoded: s.framesDecoded === undefined ? undefined : Number(s.framesDecoded),
            trackIdentifier: String(s.trackIdentifier ?? ''),
          });
        }
        if (s.type === 'outbound-rtp') facts.outbound.push({ kind: String(s.kind), bytesSent: Number(s.bytesSent ?? 0) });
      });
    }
    return facts;
  });
}

/**
 * Probes until the probe returns a value (not undefined or false), every 200 ms, for at most
 * `timeoutMs`. A probe that hangs (a stalled page) is given up at the deadline, so the error
 * names what was awaited instead of the test timing out somewhere unknown.
 */
export async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(1000, deadline - Date.now()))));
    try {
      const value = await Promise.race([probe(), givenUp]);
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Whose video this page is decoding and showing right now: participant ids (sorted) with
 *  frames decoded and a playing remote <video>. */
export async function decoding(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const session = window.simstudio?.session;
    if (!session) return [];
    const inbound = (await session.stats()).inbound.filter((s) => s.kind === 'video' && (s.framesDecoded ?? 0) > 0);
    return inbound
      .map((s) => s.participantId)
      .filter((id) => {
        const v = document.querySelector<HTMLVideoElement>(`video[data-testid="remote-video"][data-participant-id="${id}"]`);
        return !!v && v.readyState >= 2 && v.videoWidth > 0;
      })
      .sort();
  });
}
