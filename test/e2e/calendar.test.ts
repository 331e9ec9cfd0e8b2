// Issue 15 end to end in Chromium: a coordinator finds next week's session in the calendar,
// opens its page, moves it, and swaps its actor; the old actor's link is refused at once.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bookDay, shortTemplate, type BookedDay } from '../helpers/assessment.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, openInvite } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { dateToLocalInput } from '../../client/studio/format.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;
const DAY = 86_400_000;

beforeAll(async () => {
  studio = await startTestStudio();
  studio.templates.saveNewVersion({ ...shortTemplate(600, 'calendar-600'), name: 'One-hour day' });
  const nextWeek = new Date(Date.now() + 7 * DAY);
  nextWeek.setHours(10, 0, 0, 0);
  day = bookDay(studio, 'calendar-600', { title: 'Next week’s assessment', scheduledStart: nextWeek.toISOString() });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
});

it('coordinator: next week in the calendar → the session’s page → reschedule → swap the actor; the old actor’s link is refused', async () => {
  const oldActorLink = await studio.invites.link(studio.baseUrl, day.actor1);
  expect((await fetch(oldActorLink, { redirect: 'manual' })).status).toBe(303);

  const { page, context } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.coordinator));
  page.on('dialog', (d) => void d.accept());
  await page.waitForURL(/\/room\//);
  await page.goto(`${studio.baseUrl}/studio/${day.coordinator.id}#calendar`);
  await page.getByTestId('calendar').waitFor({ timeout: 20_000 });

  // This week does not hold it; next week does.
  await page.getByTestId('calendar-view-week').click();
  await expect.poll(() => page.getByTestId('calendar-row').filter({ hasText: 'Next week’s assessment' }).count()).toBe(0);
  await page.getByTestId('calendar-next').click();
  const row = page.getByTestId('calendar-row').filter({ hasText: 'Next week’s assessment' });
  await row.waitFor({ timeout: 10_000 });
  expect(await row.getAttribute('data-status')).toBe('scheduled');
  expect(await axeViolations(page)).toEqual([]);
  await row.getByTestId('calendar-open').click();

  // Its page: its people and its links.
  await page.getByTestId('session-title').getByText('Next week’s assessment').waitFor();
  await expect.poll(() => page.getByTestId('session-person').count()).toBe(day.participants.length);
  await page.locator(`[data-testid="invite-link"][data-participant-id="${day.candidate.id}"]`).waitFor();
  expect(await axeViolations(page)).toEqual([]);

  // Move it a day later, at 14:00.
  const moved = new Date(Date.now() + 8 * DAY);
  moved.setHours(14, 0, 0, 0);
  await page.getByTestId('reschedule-start').fill(dateToLocalInput(moved));
  await page.getByTestId('reschedule-reason').fill('The lead observer is away that morning');
  await page.getByTestId('reschedule-submit').click();
  await page.getByTestId('session-message').getByText('The session has been moved').waitFor();
  expect(studio.assessment.plans.plan(day.sessionId)?.scheduledStart).toBe(moved.getTime());
  await page.getByTestId('session-history').getByText(/Moved the session .*Reason: The lead observer is away that morning/).waitFor();

  // Swap the first actor for a new one.
  await page.locator(`[data-testid="session-person"][data-participant-id="${day.actor1.id}"]`).getByTestId('session-swap').click();
  await page.getByTestId('swap-name').fill('Nia Newactor');
  await page.getByTestId('swap-reason').fill('Ada is unwell');
  await page.getByTestId('swap-submit').click();
  await page.getByTestId('session-message').getByText(/replaced by Nia Newactor/).waitFor();
  await page.getByTestId('swap-new-link').getByText('/join/').waitFor();
  await expect.poll(() => page.getByTestId('session-person').filter({ hasText: 'Nia Newactor' }).count()).toBe(1);
  expect(await page.locator(`[data-testid="session-person"][data-participant-id="${day.actor1.id}"]`).count()).toBe(0);
  expect(await axeViolations(page)).toEqual([]);
  const newLink = (await page.getByTestId('swap-new-link').locator('code').textContent())!;

  // The old actor's link is refused; the new one signs in.
  const refused = await browser.newContext();
  const oldPage = await refused.newPage();
  const answer = await oldPage.goto(oldActorLink);
  expect(answer?.status()).toBe(401);
  await oldPage.getByText(/withdrawn or replaced/).waitFor();
  expect((await fetch(newLink, { redirect: 'manual' })).status).toBe(303);
  await refused.close();
  await context.close();
});
