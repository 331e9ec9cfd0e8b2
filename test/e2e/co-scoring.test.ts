// Co-scoring end to end in headless Chromium: two observers score the same scenario, each in
// their own sheet. Independent scoring: nobody receives another's sheet until it is submitted,
// then both see both. One observer's network is cut for 30 s while scoring; when it comes
// back every edit reaches the server and, once submitted, the other observer.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { collabDocName, sheetDocName } from '../../shared/collab.ts';
import { ratingKey, submittedKey } from '../../shared/rubric.ts';
import { bookDayInScenarioOne, type BookedDay } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil, type ParticipantPage } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = bookDayInScenarioOne(studio, 600);
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

/** The server's live copy of everyone's scenario-1 ratings (each observer's own sheet). */
function serverRubric(): Record<string, unknown> {
  return Object.assign({}, ...[day.lead, day.observer].map((p) => sheetOf(p)?.getMap('ratings').toJSON() ?? {})) as Record<string, unknown>;
}
const sheetOf = (who: BookedDay['lead']) => studio.collab.doc(sheetDocName(day.sessionId, who.id, 1));

async function openObserver(who: BookedDay['lead']): Promise<ParticipantPage> {
  const opened = await openInvite(browser, await studio.invites.link(studio.baseUrl, who));
  await opened.page.getByTestId('rating-kss-1-3').first().waitFor({ timeout: 20_000 });
  return opened;
}

async function rate(page: Page, domainId: string, value: number): Promise<void> {
  await page.getByTestId(`rating-${domainId}-${value}`).first().check();
}

async function saveStatus(page: Page): Promise<string> {
  return ((await page.getByTestId('save-status').first().textContent()) ?? '').trim();
}

it('independent scoring, then side by side; an observer offline for 30 s loses nothing', async () => {
  const leadPage = await openObserver(day.lead);
  const observerPage = await openObserver(day.observer);
  const lead = leadPage.page;
  const observer = observerPage.page;

  await rate(lead, 'kss-1', 3);
  await rate(observer, 'kss-1', 1);
  await expect.poll(() => serverRubric()[ratingKey(day.lead.id, 1, 'kss-1')], { timeout: 10_000 }).toBe(3);
  await expect.poll(() => serverRubric()[ratingKey(day.observer.id, 1, 'kss-1')], { timeout: 10_000 }).toBe(1);

  // Independent: before submitting, nobody sees anyone else's rating.
  expect(await lead.getByTestId(`other-rating-${day.observer.id}-kss-1`).count()).toBe(0);
  expect(await observer.getByTestId(`other-rating-${day.lead.id}-kss-1`).count()).toBe(0);

  // The observer's network drops for 30 s while they keep scoring and noting.
  await observerPage.context.setOffline(true);
  await rate(observer, 'kss-2', 2);
  await rate(observer, 'kss-6', 4);
  await observer.getByTestId('note-input').first().fill('Asked an open question about evenings at home.');
  await observer.getByTestId('note-input').first().press('Enter');
  await pollUntil('pending while offline', 10_000, async () => (await saveStatus(observer)) === 'pending');
  await new Promise((r) => setTimeout(r, 30_000));
  expect(serverRubric()[ratingKey(day.observer.id, 1, 'kss-2')]).toBeUndefined();
  await observerPage.context.setOffline(false);

  await expect.poll(() => serverRubric()[ratingKey(day.observer.id, 1, 'kss-2')], { timeout: 20_000 }).toBe(2);
  await expect.poll(() => serverRubric()[ratingKey(day.observer.id, 1, 'kss-6')], { timeout: 20_000 }).toBe(4);
  const notes = () => Object.values(sheetOf(day.observer)?.getMap('notes').toJSON() ?? {}) as Array<{ text: string; atMs: number }>;
  await expect.poll(() => notes().some((n) => n.text.includes('open question')), { timeout: 20_000 }).toBe(true);
  expect(notes().find((n) => n.text.includes('open question'))!.atMs).toBeGreaterThan(0);
  await pollUntil('saved to server after reconnect', 20_000, async () => (await saveStatus(observer)) === 'saved to server');

  // The lead submits first: the observer's sheet (stored on the server) still does not reach them.
  await lead.getByTestId('submit-scenario').first().click();
  await lead.getByTestId('confirm-submit-yes').first().click();
  await expect.poll(() => sheetOf(day.lead)?.getMap('submitted').get(submittedKey(day.lead.id, 1))).toBeTruthy();
  await pollUntil('lead sees the observer still scoring', 10_000, async () => (await lead.getByTestId('waiting-observers').count()) > 0);
  expect(((await lead.getByTestId(`other-rating-${day.observer.id}-kss-1`).first().textContent()) ?? '').trim()).toBe('–');
  // Then the observer submits; each sees the other's ratings, and the disagreement (3 vs 1) is highlighted.
  await observer.getByTestId('submit-scenario').first().click();
  await observer.getByTestId('confirm-submit-yes').first().click();
  await expect.poll(() => sheetOf(day.observer)?.getMap('submitted').get(submittedKey(day.observer.id, 1))).toBeTruthy();
  const cell = async (page: Page, of: BookedDay['lead'], domainId: string): Promise<string> =>
    ((await page.getByTestId(`other-rating-${of.id}-${domainId}`).first().textContent({ timeout: 1000 }).catch(() => '')) ?? '').trim();
  await pollUntil('lead sees observer rating', 20_000, async () => (await cell(lead, day.observer, 'kss-1')) === '1');
  await pollUntil('observer sees lead rating', 20_000, async () => (await cell(observer, day.lead, 'kss-1')) === '3');
  // The edits made offline reached the other observer too.
  await pollUntil('lead sees offline edit', 20_000, async () => (await cell(lead, day.observer, 'kss-6')) === '4');
  expect(await lead.getByTestId('disagreement').count()).toBeGreaterThan(0);

  // The candidate can never reach the rubric.
  const candidate = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.candidate));
  const refused = await candidate.page.evaluate(async (url) => {
    const ws = new WebSocket(url);
    return new Promise<number>((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
  }, `${studio.baseUrl.replace(/^http/, 'ws')}/collab/${collabDocName(day.sessionId, 'rubric')}?participantId=${day.candidate.id}`);
  expect(refused).toBe(4403);
}, 180_000);
