// Equalities monitoring in real Chromium: the candidate answers the optional questions in the
// waiting room (each control found by its label or its fieldset's legend and worked with keys)
// and the server stores them once; the analyst's invite lands on the analytics page, whose panel
// shows pass rates with small groups unnumbered and flags the planted DIF domain. Both pages pass axe-core at WCAG 2.2 AA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { generateCohort } from '../../server/analytics/synthetic-cohort.ts';
import { EqualitiesRepo } from '../../server/equalities/equalities-repo.ts';
import { bookShortDay, type BookedDay } from '../helpers/assessment.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { seedCohortAnswers } from '../helpers/equalities.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;
const CANDIDATE_REF = 'e2e-equalities-candidate';

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = bookShortDay(studio, 3, { candidate: { displayName: 'Casey Candidate', candidateRef: CANDIDATE_REF }, analyst: { displayName: 'Ana Lytic' } });
  seedCohortAnswers(studio.db, generateCohort(studio, { sessions: 300, seed: 14 }));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

describe('equalities monitoring in the browser', () => {
  it('the candidate answers in the waiting room with the keyboard, once', async () => {
    const { page, context } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.candidate));
    await pollUntil('camera and microphone ready', 20_000, () => page.getByTestId('join-button').isEnabled());
    await page.getByTestId('join-button').click();
    const form = page.getByTestId('equalities');
    await form.waitFor({ timeout: 20_000 });
    expect(await form.getByText('never by your observers, actors or moderators').count()).toBe(1);

    // Every control is reachable by its label; radios within a named group.
    await page.getByLabel('Age').focus();
    await page.keyboard.press('ArrowDown'); // 16 to 24
    await page.keyboard.press('ArrowDown'); // 25 to 34
    await page.getByRole('group', { name: 'Sex' }).getByLabel('Female', { exact: true }).focus();
    await page.keyboard.press('Space');
    await page.getByLabel('Ethnic group').selectOption('indian');
    await page.getByRole('group', { name: 'Is English your first language?' }).getByLabel('No', { exact: true }).focus();
    await page.keyboard.press('Space');
    // Disability left blank: recorded as "Prefer not to say".
    expect(await axeViolations(page)).toEqual([]);
    await page.getByTestId('equalities-send').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('equalities-done').waitFor();
    expect(await page.getByTestId('equalities-done').textContent()).toContain('your answers are recorded');

    expect(new EqualitiesRepo(studio.db).mine(studio.sessions.defaultOrganisation(), CANDIDATE_REF)).toMatchObject({
      state: 'answered',
      answers: { ageBand: '25-34', sex: 'female', ethnicity: 'indian', disability: 'preferNotToSay', firstLanguageEnglish: 'no' },
    });
    // Reloaded, the page only thanks them.
    await page.reload();
    await pollUntil('camera and microphone ready', 20_000, () => page.getByTestId('join-button').isEnabled());
    await page.getByTestId('join-button').click();
    await page.getByTestId('equalities-done').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('equalities-send').count()).toBe(0);
    await context.close();
  });

  it("the analyst's invite opens the equalities panel: small groups unnumbered, the planted domain flagged", async () => {
    const analyst = day.participants.find((p) => p.role === 'analyst')!;
    const { page, context } = await openInvite(browser, await studio.invites.link(studio.baseUrl, analyst));
    await page.waitForURL(`**/analytics/${analyst.id}`);
    const dif = page.getByTestId('equalities-dif');
    await dif.waitFor({ timeout: 30_000 });
    const flags = page.getByTestId('dif-flags-ethnicGroup');
    expect((await flags.locator('li').allTextContents()).map((t) => t.trim().slice(0, 3))).toEqual(['7. ']);
    expect(await page.getByTestId('equalities-outcomes').getByText('Fewer than 10 candidates: not shown').count()).toBeGreaterThan(0);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });
});
