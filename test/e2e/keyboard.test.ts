// Keyboard only (issue 12): the candidate goes from the invite link through the device check
// into the call and writes the written exercise, and an observer rates, adds an evidence note
// and submits, with nothing but page.keyboard (Tab, arrows, Enter, Space, typing). What they
// did is checked on the server: the stored ratings, note, submission and written text.
// The lead observer and the actor are driven over their own connections; only the candidate's
// and the observer's pages are under test.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { WRITTEN_FRAGMENT, collabDocName, sheetDocName } from '../../shared/collab.ts';
import { ratingKey, submittedKey } from '../../shared/rubric.ts';
import { plainText } from '../../shared/written-text.ts';
import { bookDay, testTemplate, type BookedDay } from '../helpers/assessment.ts';
import { decoding, launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { connectAs, request, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;
let lead: ClientSocket;

// Soft timers: the lead observer moves on when the test is done with a phase.
const TEMPLATE = testTemplate('e2e-keyboard', 'Keyboard test', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 600, timer: 'soft' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
  lead = await connectAs(studio, day.lead);
});

afterAll(async () => {
  lead?.disconnect();
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

async function dayControl(action: 'start' | 'advance', fromPhaseIndex?: number): Promise<void> {
  const result = await request(lead, 'dayControl', action === 'start' ? { action } : { action, fromPhaseIndex: fromPhaseIndex! });
  if (!result.ok) throw new Error(`${action}: ${result.error.message}`);
}

async function focusedMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
}

/** What has focus, for failure messages. */
async function focusedDescription(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}[${el.getAttribute('data-testid') ?? el.textContent?.trim().slice(0, 30) ?? ''}]` : 'nothing';
  });
}

/** Presses Tab until the focused element matches `selector` (fails after `max` presses). */
async function tabTo(page: Page, selector: string, max = 120): Promise<void> {
  const visited: string[] = [];
  for (let i = 0; i < max; i++) {
    if (await focusedMatches(page, selector)) return;
    await page.keyboard.press('Tab');
    visited.push(await focusedDescription(page));
  }
  if (await focusedMatches(page, selector)) return;
  throw new Error(`Tab never reached ${selector}; focus went through: ${[...new Set(visited)].join(', ')}`);
}


async function phaseKind(page: Page): Promise<string | null> {
  return page.evaluate(() => window.simstudio?.day?.phaseKind ?? null);
}

function serverWrittenText(): string {
  const doc = studio.collab.doc(collabDocName(day.sessionId, 'written'));
  return doc ? plainText(doc.getXmlFragment(WRITTEN_FRAGMENT)) : '';
}

const observerSheet = () => studio.collab.doc(sheetDocName(day.sessionId, day.observer.id, 1));

it('candidate: invite link → device check → call → written exercise, by keyboard only', async () => {
  const { page: candidate } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.candidate));
  const join = candidate.getByTestId('join-button');
  await pollUntil('device check ready', 30_000, () => join.isEnabled().catch(() => false));
  await tabTo(candidate, '[data-testid="join-button"]');
  await candidate.keyboard.press('Enter');
  await candidate.getByTestId('waiting-room').waitFor({ timeout: 30_000 });
  // The join button went with the device check: focus moves to what replaced it.
  await pollUntil('focus on the waiting room', 10_000, () => focusedMatches(candidate, '#main'));

  // The actor joins with the mouse: only the candidate is under test.
  const { page: actor } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.actor1));
  const actorJoin = actor.getByTestId('join-button');
  await pollUntil('actor device check ready', 30_000, () => actorJoin.isEnabled().catch(() => false));
  await actorJoin.click();

  await dayControl('start');
  await candidate.getByTestId('candidate-briefing').first().waitFor({ timeout: 30_000 });
  // Each phase change moves focus to the new content, not to the top of the page.
  await pollUntil('focus on the briefing', 10_000, () => focusedMatches(candidate, '#main'));
  await dayControl('advance', 0);
  await pollUntil('candidate decodes the actor in the call', 30_000, async () => (await decoding(candidate)).includes(day.actor1.id));
  await pollUntil('focus on the call', 10_000, () => focusedMatches(candidate, '#main'));

  await dayControl('advance', 1);
  await pollUntil('written exercise', 30_000, async () => (await phaseKind(candidate)) === 'writtenExercise');
  await candidate.getByTestId('written-editor').waitFor({ timeout: 30_000 });
  await pollUntil('focus on the written exercise', 10_000, () => focusedMatches(candidate, '#main'));
  await tabTo(candidate, '[contenteditable="true"]');
  await candidate.keyboard.type('Case notes typed without a mouse.');
  await candidate.keyboard.press('Enter');
  await candidate.keyboard.type('Risk: evenings at home.');
  await expect.poll(serverWrittenText, { timeout: 15_000 }).toContain('Case notes typed without a mouse.');
  await expect.poll(serverWrittenText, { timeout: 15_000 }).toContain('Risk: evenings at home.');
}, 240_000);

it('observer: rates, adds an evidence note and submits, by keyboard only', async () => {
  // Back to a scenario: a fresh day for the observer, in scenario 1.
  day = bookDay(studio, studio.templates.latest('e2e-keyboard')!.id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
  lead.disconnect();
  lead = await connectAs(studio, day.lead);
  await dayControl('start');
  await dayControl('advance', 0);

  const { page: observer } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.observer));
  await observer.locator('[data-testid="rating-kss-1-1"]:visible').waitFor({ timeout: 30_000 });

  // Rating: Tab into the first domain's radio group, arrows move and choose (WAI-ARIA radio group).
  await tabTo(observer, '[data-testid^="rating-kss-1-"]');
  await observer.keyboard.press('Space');
  for (let i = 0; i < 4 && !(await focusedMatches(observer, '[data-testid="rating-kss-1-3"]')); i++) {
    await observer.keyboard.press('ArrowRight');
  }
  expect(await focusedMatches(observer, '[data-testid="rating-kss-1-3"]:checked')).toBe(true);
  await expect.poll(() => observerSheet()?.getMap('ratings').get(ratingKey(day.observer.id, 1, 'kss-1')), { timeout: 15_000 }).toBe(3);

  // Evidence note: Enter saves it.
  await tabTo(observer, '[data-testid="note-input"]');
  await observer.keyboard.type('Asked an open question about evenings at home.');
  await observer.keyboard.press('Enter');
  const notes = () => Object.values(observerSheet()?.getMap('notes').toJSON() ?? {}) as Array<{ text: string }>;
  await expect.poll(() => notes().map((n) => n.text), { timeout: 15_000 }).toContain('Asked an open question about evenings at home.');

  // Submit: a second, deliberate step, whose button takes focus.
  await tabTo(observer, '[data-testid="submit-scenario"]');
  await observer.keyboard.press('Enter');
  await pollUntil('focus on the confirmation', 10_000, () => focusedMatches(observer, '[data-testid="confirm-submit-yes"]'));
  expect(observerSheet()?.getMap('submitted').get(submittedKey(day.observer.id, 1))).toBeFalsy();
  await observer.keyboard.press('Enter');
  await expect.poll(() => observerSheet()?.getMap('submitted').get(submittedKey(day.observer.id, 1)), { timeout: 15_000 }).toBeTruthy();
}, 180_000);
