// The written exercise end to end in headless Chromium: the candidate types and the text is
// in the server's document; the network is cut for 20 s mid-writing and restored before the
// deadline with nothing lost; after the deadline typing changes nothing on the server and the
// page says submitted, with exactly the server's text; observers cannot write and actors
// cannot open the document.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { plainText } from '../../shared/written-text.ts';
import { DocStore } from '../../server/collab/doc-store.ts';
import { bookDay, testTemplate, type BookedDay } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;

const WRITING_SECONDS = 50;
const TEMPLATE = testTemplate('e2e-written', 'Written exercise test', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 2, timer: 'hard' },
  { kind: 'scenario', scenario: 1, durationSeconds: 2, timer: 'hard' },
  { kind: 'writtenExercise', durationSeconds: WRITING_SECONDS, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

/** The text the server holds: the live document, or the stored one when nobody has it open. */
function serverText(): string {
  const name = collabDocName(day.sessionId, 'written');
  const doc = studio.collab.doc(name) ?? new DocStore(studio.db).load(name).ydoc;
  return plainText(doc.getXmlFragment(WRITTEN_FRAGMENT));
}

async function status(): Promise<WrittenStatus> {
  const res = await fetch(`${studio.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${day.lead.id}`, {
    headers: { cookie: await signIn(studio, day.lead) },
  });
  return (await res.json()) as WrittenStatus;
}

/** The close code a raw WebSocket from this page gets on the written document. */
async function closeCodeFor(page: Page, who: Participant): Promise<number> {
  return page.evaluate(async (url) => {
    const ws = new WebSocket(url);
    return new Promise<number>((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
  }, `${studio.baseUrl.replace(/^http/, 'ws')}/collab/${collabDocName(day.sessionId, 'written')}?participantId=${who.id}`);
}

beforeAll(async () => {
  studio = await startTestStudio({ written: { graceMs: 3000, maxTextBytes: 200 * 1024 } });
  browser = await launchBrowser();
  day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

it('writes, survives a 20 s network cut, and is frozen at the deadline', async () => {
  const candidate = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.candidate));
  const page = candidate.page;
  const join = page.getByTestId('join-button');
  await pollUntil('device check', 20_000, () => join.isEnabled().catch(() => false));
  await join.click();
  const observer = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.observer))).page;
  const actor = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.actor1))).page;
  const lead = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.lead))).page;
  await lead.getByRole('button', { name: 'Start the day' }).click();

  const editor = page.getByTestId('written-editor');
  await editor.waitFor({ timeout: 30_000 });
  await pollUntil('writing open', 10_000, async () => (await status()).status === 'open');
  await editor.click();
  await page.keyboard.type('Case notes: home visit to Grace and Daniel.');
  await expect.poll(serverText, { timeout: 10_000 }).toContain('Grace and Daniel');
  await pollUntil('saved', 10_000, async () => (await page.getByTestId('save-status').textContent())?.trim() === 'saved');

  // Observers cannot write (nor even open it before submission); actors never open it.
  expect(await closeCodeFor(observer, day.observer)).toBe(4403);
  expect(await closeCodeFor(actor, day.actor1)).toBe(4403);

  // The network drops for 20 s while the candidate keeps writing.
  await candidate.context.setOffline(true);
  await page.keyboard.press('Enter');
  await page.keyboard.type('Risk: father’s temper; painkillers.');
  await pollUntil('offline indicator', 10_000, async () => (await page.getByTestId('save-status').textContent())?.includes('offline') ?? false);
  await new Promise((r) => setTimeout(r, 20_000));
  expect(serverText()).not.toContain('painkillers');
  await candidate.context.setOffline(false);
  await expect.poll(serverText, { timeout: 15_000 }).toContain('painkillers');
  expect(serverText()).toContain('Grace and Daniel');
  const closesAt = (await status()).closesAt!;
  expect(closesAt).toBeGreaterThan(Date.now()); // restored before the deadline

  // After the deadline and the grace, the page says submitted with exactly the server's text,
  // and typing changes nothing.
  // The day has moved on: the exercise sits in a collapsed panel on the candidate's page.
  await pollUntil('submitted on the page', WRITING_SECONDS * 1000 + 15_000, async () => (await page.getByTestId('written-submitted').count()) > 0);
  await page.getByTestId('written-after').locator('summary').first().click();
  expect(await page.getByTestId('written-submitted').isVisible()).toBe(true);
  const frozen = (await status()).frozen!;
  expect(frozen.text).toBe(serverText());
  expect(frozen.text).toContain('painkillers');
  const shown = (await page.getByTestId('written-frozen-text').innerText()).replace(/\s+/g, ' ').trim();
  expect(shown).toBe(frozen.text.replace(/\s+/g, ' ').trim());
  await editor.click({ force: true }).catch(() => undefined);
  await page.keyboard.type('added after the deadline');
  await new Promise((r) => setTimeout(r, 1500));
  expect(serverText()).toBe(frozen.text);
  expect((await status()).frozen).toEqual(frozen);
}, 180_000);
