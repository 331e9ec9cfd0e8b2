// The pre-join check in real headless Chromium against the real server and SFU: the test call
// finds the UDP path and its result reaches the coordinator's board; against a server that
// offers no UDP it finds the TCP path; a refused microphone gets plain-language steps naming the
// microphone; a finished day's candidate sees their result without any device check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { studioPath } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { GOOD_RTT_MS, GOOD_UPLOAD_KBPS } from '../../shared/prejoin.ts';
import { CHROMIUM, INSTRUMENT, pollUntil } from '../helpers/browser.ts';
import { finishedDemoDay } from '../helpers/moderation.ts';
import { bookShortDay } from '../helpers/assessment.ts';
import { byRole, createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { openLinkAcceptingNotices } from '../helpers/privacy.ts';

const HELP = 'Jo Bennett, 01632 960123';

let studio: TestStudio;
let browser: Browser;
let participants: Participant[];
const pageErrors: string[] = [];
const contexts: BrowserContext[] = [];

/**
 * No --use-fake-ui-for-media-stream: each context is granted exactly the devices it may use,
 * so that a context without the microphone permission is refused it by the browser itself.
 */
async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

async function open(on: Browser, who: Participant, permissions: string[] = ['camera', 'microphone']): Promise<Page> {
  const context = await on.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  await context.grantPermissions(permissions, { origin: studio.baseUrl });
  await context.addInitScript(INSTRUMENT);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(await openLinkAcceptingNotices(context, await studio.invites.link(studio.baseUrl, who)));
  return page;
}

/** Runs the test call on a device-check page, answering the speaker question. */
async function runTestCall(page: Page, heardTheSound = true): Promise<void> {
  await page.getByTestId('test-call-start').click();
  await page.getByTestId(heardTheSound ? 'speaker-yes' : 'speaker-no').click();
  await page.getByTestId('test-call-summary').waitFor({ timeout: 40_000 });
}

async function boardTestCall(coordinatorPage: Page, who: Participant): Promise<string> {
  return pollUntil(`board shows ${who.displayName}'s test call`, 15_000, async () => {
    const person = coordinatorPage.getByTestId('board-person').filter({ hasText: who.displayName });
    const text = (await person.getByTestId('board-test-call').textContent()) ?? '';
    return text.includes('not done') ? false : text;
  });
}

beforeAll(async () => {
  studio = await startTestStudio({ helpContact: HELP });
  browser = await launch();
  ({ participants } = createSession(studio));
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

describe('pre-join check', () => {
  it('finds the UDP path, measures it, and the coordinator sees the stored result', async () => {
    const candidate = byRole(participants, 'candidate');
    const page = await open(browser, candidate);
    await pollUntil('camera and microphone ready', 15_000, () => page.getByTestId('join-button').isEnabled());
    await expect(page.getByTestId('help-contact').textContent()).resolves.toContain(HELP);
    await runTestCall(page);

    const summary = page.getByTestId('test-call-summary');
    expect(await summary.getAttribute('data-passed')).toBe('true');
    const verdict = page.getByTestId('connection-verdict');
    expect(await verdict.getAttribute('data-path')).toBe('udp');
    expect(await verdict.textContent()).toMatch(/Your connection is (good enough|slow).*by UDP, round trip \d+ ms, upload [\d.]+ (Mbit|kbit)\/s/s);
    for (const step of ['browser', 'camera', 'microphone', 'speakers', 'connection']) {
      expect(await page.locator(`[data-testid="test-call-step"][data-step="${step}"]`).getAttribute('data-state')).toBe('passed');
    }

    const row = studio.db
      .prepare('SELECT passed, path, rtt_ms, upload_kbps, browser, failed_step FROM test_calls WHERE participant_id = ?')
      .get(candidate.id) as { passed: number; path: string; rtt_ms: number; upload_kbps: number; browser: string; failed_step: null };
    expect(row).toMatchObject({ passed: 1, path: 'udp', failed_step: null });
    expect(row.browser).toMatch(/^Chrome \d+$/);
    // The real camera went over the path: the upload figure is what a video call needs.
    expect(row.upload_kbps).toBeGreaterThan(100);
    expect(row.rtt_ms).toBeGreaterThanOrEqual(0);
    // The words follow the figures (a loaded test machine may really be slow).
    const slow = row.upload_kbps < GOOD_UPLOAD_KBPS || row.rtt_ms > GOOD_RTT_MS;
    expect(await verdict.getAttribute('data-quality')).toBe(slow ? 'slow' : 'good');
    expect(await verdict.textContent()).toContain(slow ? 'Your connection is slow: close other apps' : 'Your connection is good enough');

    const coordinator = await open(browser, byRole(participants, 'coordinator'), []);
    await coordinator.goto(`${studio.baseUrl}${studioPath(byRole(participants, 'coordinator').id)}#board`);
    const text = await boardTestCall(coordinator, candidate);
    // "Test call: passed 29 Nov 14:02, UDP, 38 ms, 1.4 Mbit/s" (date and time in the viewer's locale).
    expect(text).toMatch(/^Test call: passed .*\d{2}:\d{2}.*, UDP, \d+ ms, [\d.]+ (Mbit|kbit)\/s$/);
    const actor = byRole(participants, 'actor');
    const actorText = await coordinator
      .getByTestId('board-person')
      .filter({ hasText: actor.displayName })
      .getByTestId('board-test-call')
      .textContent();
    expect(actorText).toBe('Test call: not done');
  });

  it('names the microphone when it is refused, explains an unheard sound, and the board shows the first failed step', async () => {
    const actor = byRole(participants, 'actor');
    const page = await open(browser, actor, ['camera']);
    const problem = page.getByTestId('device-problem');
    await problem.waitFor({ timeout: 15_000 });
    const words = (await problem.textContent()) ?? '';
    expect(words).toContain('Your browser is not letting SimStudio use your microphone');
    expect(words).toContain('Set Camera and Microphone to “Allow”');
    // The camera that works stays on.
    await page.getByTestId('preview-video').waitFor();
    expect(await page.getByTestId('join-button').isEnabled()).toBe(false);

    await runTestCall(page, false);
    expect(await page.getByTestId('test-call-summary').getAttribute('data-passed')).toBe('false');
    const micStep = page.locator('[data-testid="test-call-step"][data-step="microphone"]');
    expect(await micStep.getAttribute('data-state')).toBe('failed');
    expect(await micStep.getByTestId('test-call-advice').textContent()).toContain('Your microphone is not working yet');
    // "No, I did not hear the sound": what to check, in plain words.
    const speakerStep = page.locator('[data-testid="test-call-step"][data-step="speakers"]');
    expect(await speakerStep.getAttribute('data-state')).toBe('failed');
    const speakerAdvice = (await speakerStep.getByTestId('test-call-advice').textContent()) ?? '';
    expect(speakerAdvice).toContain('You could not hear the test sound');
    expect(speakerAdvice).toContain('Turn up the volume');
    // The camera that works still tested the connection.
    expect(await page.locator('[data-testid="test-call-step"][data-step="camera"]').getAttribute('data-state')).toBe('passed');
    expect(await page.getByTestId('connection-verdict').getAttribute('data-path')).toBe('udp');

    const coordinator = await open(browser, byRole(participants, 'coordinator'), []);
    await coordinator.goto(`${studio.baseUrl}${studioPath(byRole(participants, 'coordinator').id)}#board`);
    expect(await boardTestCall(coordinator, actor)).toMatch(/^Test call: failed .*: microphone$/);
  });

  it('the waiting room outlines the day, shows the candidate themselves, and offers the test call and help', async () => {
    const day = bookShortDay(studio, 60);
    const page = await open(browser, day.candidate);
    await pollUntil('camera and microphone ready', 15_000, () => page.getByTestId('join-button').isEnabled());
    await page.getByTestId('join-button').click();
    const waiting = page.getByTestId('waiting-room');
    await waiting.waitFor({ timeout: 20_000 });
    // The outline lists the plan's six phases, in order.
    const phases = await waiting.getByTestId('day-outline-phase').allTextContents();
    expect(phases).toHaveLength(6);
    expect(phases[0]).toContain('Briefing — scenario 1');
    expect(phases[5]).toContain('Reflective conversation');
    // The self-view plays the camera the candidate will send.
    await pollUntil('self-view playing', 15_000, () =>
      page.evaluate(() => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid="self-view"]');
        return !!v && v.readyState >= 2 && v.videoWidth > 0;
      }),
    );
    expect(await waiting.getByTestId('help-contact').textContent()).toContain(HELP);
    expect(await waiting.getByTestId('test-call-start').isEnabled()).toBe(true);
  });

  it('a finished day’s candidate sees their result without any device check', async () => {
    const day = finishedDemoDay(studio);
    const page = await open(browser, day.one('candidate'));
    await page.getByTestId('result-notice').waitFor({ timeout: 20_000 });
    await page.getByTestId('day-complete').waitFor();
    expect(await page.getByTestId('join-button').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __gum: number }).__gum)).toBe(0);
  });
});

describe('pre-join check where the server offers no UDP', () => {
  let tcpOnly: TestStudio;
  beforeAll(async () => {
    // SIMSTUDIO_MEDIA_UDP=false: the SFU listens on TCP only, as behind a firewall that drops UDP.
    tcpOnly = await startTestStudio({ helpContact: HELP, media: { ...studio.config.media, enableUdp: false } });
  });
  afterAll(async () => {
    await tcpOnly?.close();
  });

  it('finds the TCP path and stores it', async () => {
    const { participants: others } = createSession(tcpOnly);
    const candidate = byRole(others, 'candidate');
    const context = await browser.newContext();
    contexts.push(context);
    await context.grantPermissions(['camera', 'microphone'], { origin: tcpOnly.baseUrl });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(await openLinkAcceptingNotices(context, await tcpOnly.invites.link(tcpOnly.baseUrl, candidate)));
    await pollUntil('camera and microphone ready', 15_000, () => page.getByTestId('join-button').isEnabled());
    await runTestCall(page);
    expect(await page.getByTestId('test-call-summary').getAttribute('data-passed')).toBe('true');
    const verdict = page.getByTestId('connection-verdict');
    expect(await verdict.getAttribute('data-path')).toBe('tcp');
    expect(await verdict.textContent()).toMatch(/by TCP, round trip \d+ ms/);
    const row = tcpOnly.db.prepare('SELECT passed, path, result FROM test_calls WHERE participant_id = ?').get(candidate.id) as {
      passed: number;
      path: string;
      result: string;
    };
    expect(row).toMatchObject({ passed: 1, path: 'tcp' });
    expect(JSON.parse(row.result).connection.tried).toEqual([
      { path: 'udp', outcome: 'not-offered' },
      { path: 'tcp', outcome: 'connected' },
    ]);
  });
});
