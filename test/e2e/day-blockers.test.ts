// What blocked or misled people on the day (issue 12, problems 1–5 and 8), walked through in
// headless Chromium on one booked day: the lead observer is told who is missing before and
// during a scenario, the screen-reader status names the phase entered, the observers' guidance
// is on screen at common laptop sizes, submitting ratings takes a deliberate second step, and in
// the reflective conversation the lead checks their camera before going on and can mute. First,
// the coordinator: no booking in the past, and a way from the room to the studio. Last, the lead
// stops the day early (a reason, a deliberate second step) and everyone is told.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { sheetDocName } from '../../shared/collab.ts';
import { submittedKey } from '../../shared/rubric.ts';
import { booking, bookDay, testTemplate, type BookedDay } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { callAs } from '../helpers/moderation.ts';
import { axeViolations } from '../helpers/axe.ts';
import { connectAs, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;
let lead: Page;
let candidate: Page;
let actorSocket: ClientSocket | undefined;

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  const template = studio.templates.saveNewVersion(
    testTemplate('blockers-600', 'One scenario and a conversation', 1, [
      { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'hard' },
      { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' },
      { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
    ]),
  );
  day = bookDay(studio, template.id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
  // The candidate is in the waiting room; the actor is not there yet.
  candidate = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.candidate))).page;
  const join = candidate.getByTestId('join-button');
  await pollUntil('candidate devices ready', 20_000, () => join.isEnabled());
  await join.click();
  lead = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.lead))).page;
  await lead.setViewportSize({ width: 1280, height: 800 });
  await lead.getByRole('button', { name: 'Start the day' }).waitFor({ timeout: 20_000 });
  // Two browsers' worth of page loads and a device check: more than the default on a loaded machine.
}, 120_000);

afterAll(async () => {
  actorSocket?.disconnect();
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

const phaseKind = (page: Page): Promise<string | null> => page.evaluate(() => window.simstudio?.day?.phaseKind ?? null);
const dayStatus = async (page: Page): Promise<string> => ((await page.getByTestId('day-controls').getByRole('status').textContent()) ?? '').trim();

it('refuses a booking in the past, and takes a coordinator from the room to the studio (problem 5)', async () => {
  const sessionsBefore = studio.sessions.listSessions().length;
  const past = await callAs<{ error?: { message: string } }>(studio, day.coordinator, 'POST', '/studio/sessions', {
    ...booking('blockers-600', { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] }),
    scheduledStart: new Date(Date.now() - 2 * 3600_000).toISOString(),
  });
  expect(past.status).toBe(400);
  expect(JSON.stringify(past.body)).toMatch(/already passed/);
  expect(studio.sessions.listSessions().length).toBe(sessionsBefore);

  const { page, context } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.coordinator));
  await page.getByTestId('studio-link').click({ timeout: 20_000 });
  await page.getByTestId('studio').waitFor({ timeout: 20_000 });
  expect(new URL(page.url()).pathname).toBe(`/studio/${day.coordinator.id}`);
  await context.close();
});

it('tells the lead who is not connected before moving into a scenario and while it runs, and names the phase entered (problems 4 and 8)', async () => {
  await lead.getByRole('button', { name: 'Start the day' }).click();
  await expect.poll(() => phaseKind(lead)).toBe('briefing');

  await lead.getByRole('button', { name: 'Next phase' }).click();
  const confirm = lead.getByTestId('confirm-advance');
  await confirm.waitFor();
  const absent = (await confirm.getByTestId('confirm-absent').textContent()) ?? '';
  expect(absent).toContain('Ada Actor (actor)');
  expect(absent).not.toContain('Casey Candidate');
  expect(await phaseKind(lead)).toBe('briefing');

  await confirm.getByRole('button', { name: 'Yes, go to the next phase' }).click();
  await expect.poll(() => phaseKind(lead)).toBe('scenario');
  await expect.poll(() => dayStatus(lead)).toBe('Moved on to Scenario 1.');
  await expect.poll(async () => (await lead.getByTestId('stage-absent').textContent()) ?? '').toContain('Ada Actor (actor) is not connected');

  // The actor arrives: the warning goes.
  actorSocket = await connectAs(studio, day.actor1);
  await expect.poll(() => lead.getByTestId('stage-absent').count()).toBe(0);
});

it('keeps the observer guidance on screen beside the rubric at common laptop and desktop sizes (problem 2)', async () => {
  for (const [width, height] of [
    [1280, 800],
    [1440, 900],
    [1920, 1080],
  ] as const) {
    await lead.setViewportSize({ width, height });
    await lead.getByRole('tab', { name: 'Observer guidance' }).click();
    const geometry = await lead.evaluate(() => {
      const rect = (el: Element | null) => (el ? el.getBoundingClientRect() : null);
      const panel = rect(document.querySelector('.observer-side .scenario-panel'));
      const text = rect(document.querySelector('.observer-side [role=tabpanel]:not([hidden])'));
      const tabs = [...document.querySelectorAll('.observer-side [role=tab]')].map((t) => t.getBoundingClientRect());
      return { panel, text, tabs, viewport: window.innerHeight };
    });
    const where = `${width}x${height}`;
    expect(geometry.panel, where).not.toBeNull();
    expect(geometry.text, where).not.toBeNull();
    // The panel is on screen, tall enough to read in, and its tabs sit inside it.
    expect(geometry.panel!.bottom, where).toBeLessThanOrEqual(geometry.viewport);
    expect(geometry.panel!.height, where).toBeGreaterThanOrEqual(220);
    for (const tab of geometry.tabs) {
      expect(tab.top, where).toBeGreaterThanOrEqual(geometry.panel!.top);
      expect(tab.bottom, where).toBeLessThanOrEqual(geometry.panel!.bottom);
      expect(tab.right, where).toBeLessThanOrEqual(geometry.panel!.right);
    }
    // The guidance text starts on screen, inside the panel.
    expect(geometry.text!.top, where).toBeLessThan(Math.min(geometry.panel!.bottom, geometry.viewport) - 20);
    expect(await lead.getByTestId('observer-guidance').first().isVisible(), where).toBe(true);
  }
  await lead.setViewportSize({ width: 1280, height: 800 });
});

it('asks before locking ratings, saying what is blank and that the scenario is still running (problem 1)', async () => {
  const submitted = () => studio.collab.doc(sheetDocName(day.sessionId, day.lead.id, 1))?.getMap('submitted').get(submittedKey(day.lead.id, 1));
  await lead.getByTestId('rating-kss-1-3').first().check();
  await lead.getByTestId('rating-kss-2-2').first().check();
  await lead.getByTestId('submit-scenario').click();
  const confirm = lead.getByTestId('confirm-submit');
  await confirm.waitFor();
  expect((await confirm.getByTestId('confirm-submit-blanks').textContent()) ?? '').toMatch(/^You have rated 2 of \d+\. Not rated: \d/);
  expect((await confirm.getByTestId('confirm-submit-live').textContent()) ?? '').toMatch(/Scenario 1 is still running/);
  // The second step has the focus, and nothing is locked yet.
  expect(await lead.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('confirm-submit-yes');
  expect(submitted()).toBeUndefined();

  await confirm.getByTestId('confirm-submit-no').click();
  await lead.getByTestId('submit-scenario').waitFor();
  await lead.getByTestId('rating-kss-6-3').first().check();
  expect(submitted()).toBeUndefined();

  await lead.getByTestId('submit-scenario').click();
  await lead.getByTestId('confirm-submit-yes').click();
  await expect.poll(() => submitted()).toBeTruthy();
});

/** Sum of the audio energy this page has received (what its speakers would play). */
function receivedAudioEnergy(page: Page): Promise<number> {
  return page.evaluate(async () => {
    let energy = 0;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') energy += Number(s.totalAudioEnergy ?? 0);
      });
    }
    return energy;
  });
}

/** Mean brightness (0–255) of the remote video this page shows. */
function remoteBrightness(page: Page): Promise<number | null> {
  return page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('video[data-testid="remote-video"]');
    if (!video || video.videoWidth === 0) return null;
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 36;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
    return sum / (data.length / 4);
  });
}

// Audio energy over two seconds (the sum of level² × seconds). The fake microphone's tone gives
// about 0.5; a muted track decodes to at most one least-significant bit of comfort noise
// (level 1/32767: about 2e-9), which is silence to any listener.
const HEARD = 0.01;
const SILENT = 1e-6;

/** How much audio energy arrives over two seconds. */
async function energyOverTwoSeconds(page: Page): Promise<number> {
  const before = await receivedAudioEnergy(page);
  await page.waitForTimeout(2000);
  return (await receivedAudioEnergy(page)) - before;
}

it('lets the lead check their camera before the reflective conversation, then mute and stop the camera (problem 3)', async () => {
  await lead.getByRole('button', { name: 'Next phase' }).click();
  await lead.getByRole('button', { name: 'Yes, go to the next phase' }).click();
  await expect.poll(() => phaseKind(lead)).toBe('reflectiveConversation');

  // A device check with a preview, and the lead is not sent to the candidate until they choose.
  const join = lead.getByTestId('join-button');
  await pollUntil('lead devices ready', 20_000, () => join.isEnabled());
  expect(await lead.getByTestId('preview-video').isVisible()).toBe(true);
  const fromLead = async () =>
    (await candidate.evaluate(() => window.simstudio?.state.remoteTracks ?? [])).filter((t) => t.participantId === day.lead.id).map((t) => t.kind).sort();
  expect(await fromLead()).toEqual([]);
  expect(await join.isVisible()).toBe(true);

  await join.click();
  await expect.poll(fromLead, { timeout: 20_000 }).toEqual(['audio', 'video']);
  await pollUntil('the candidate hears the lead', 20_000, async () => (await energyOverTwoSeconds(candidate)) > HEARD);
  await pollUntil('the candidate sees the lead', 20_000, async () => ((await remoteBrightness(candidate)) ?? 0) > 20);

  await lead.getByTestId('toggle-mic').click();
  expect(await lead.getByTestId('toggle-mic').getAttribute('aria-pressed')).toBe('true');
  await pollUntil('the candidate hears silence', 20_000, async () => (await energyOverTwoSeconds(candidate)) < SILENT);

  await lead.getByTestId('toggle-camera').click();
  await pollUntil('the candidate sees a dark picture', 20_000, async () => {
    const brightness = await remoteBrightness(candidate);
    return brightness !== null && brightness < 8;
  });

  // And back on.
  await lead.getByTestId('toggle-mic').click();
  await pollUntil('the candidate hears the lead again', 20_000, async () => (await energyOverTwoSeconds(candidate)) > HEARD);
});

it('stops the day early only after the lead says why, tells everyone, and the coordinator sees it stopped and can book again', async () => {
  const controls = lead.getByTestId('day-controls');
  await controls.getByRole('button', { name: 'Stop the day…' }).click();
  const form = lead.getByTestId('stop-form');
  await form.waitFor();
  // What it means is said before anything happens, and the reason field has the focus.
  expect(await form.textContent()).toMatch(/for good.*cannot be resumed/s);
  expect(await lead.evaluate(() => document.activeElement?.id)).toBe('day-reason');
  expect(await axeViolations(lead)).toEqual([]);
  // Keeping going changes nothing.
  await form.getByRole('button', { name: 'Keep going' }).click();
  expect(studio.assessment.dayState(day.sessionId)?.status).toBe('running');

  await controls.getByRole('button', { name: 'Stop the day…' }).click();
  await lead.locator('#day-reason').fill('The candidate is unwell and cannot go on');
  await lead.getByTestId('stop-form').getByRole('button', { name: 'Stop the day' }).click();
  await lead.getByTestId('day-stopped-hint').waitFor();
  await lead.getByTestId('day-stopped').waitFor();
  expect(studio.assessment.dayState(day.sessionId)?.status).toBe('stopped');
  expect(studio.audit.list(day.sessionId).at(-1)).toMatchObject({ action: 'day.stop', detail: { reason: 'The candidate is unwell and cannot go on' } });

  // The candidate is told, off the call, without the reason; nobody receives their camera any more.
  await candidate.getByTestId('day-stopped').getByText("Today's assessment has been stopped").waitFor({ timeout: 20_000 });
  expect(await candidate.getByTestId('day-stopped').textContent()).not.toContain('unwell');
  await expect
    .poll(async () => (await lead.evaluate(() => window.simstudio?.state.remoteTracks ?? [])).filter((t) => t.participantId === day.candidate.id).length, { timeout: 20_000 })
    .toBe(0);
  expect(await axeViolations(candidate)).toEqual([]);

  // The coordinator: the calendar and the session's page say so, with the reason, and offer a new booking.
  const { page, context } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.coordinator));
  await page.getByTestId('day-stopped').waitFor({ timeout: 20_000 });
  await page.goto(`${studio.baseUrl}/studio/${day.coordinator.id}#calendar`);
  const row = page.locator(`[data-testid="calendar-row"][data-session-id="${day.sessionId}"]`);
  await row.waitFor({ timeout: 20_000 });
  expect(await row.getAttribute('data-status')).toBe('stopped');
  await row.getByTestId('calendar-open').click();
  await page.getByTestId('session-status').getByText('Stopped early').waitFor();
  await page.getByTestId('session-history').getByText('Stopped the day early. Reason: The candidate is unwell and cannot go on').waitFor();
  await page.getByRole('form', { name: 'Book again' }).waitFor();
  expect(await axeViolations(page)).toEqual([]);
  await context.close();
});
