// The fairness analytics page in headless Chromium, on a synthetic cohort stored the way real
// days are: a coordinator reaches it from the studio, sees the planted hawk flagged (and no one
// else), downloads a plot as PNG and a table as CSV, adopts the borderline-regression cut, and
// sets a standard by modified Angoff with a second judge;
// the page passes axe at WCAG 2.2 AA on a desktop and a phone; an observer sees only their own
// position; a candidate is turned away.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { generateCohort, type CohortTruth } from '../../server/analytics/synthetic-cohort.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, openInvite, pageErrors } from '../helpers/browser.ts';
import { callAs, finishedDemoDay, type FinishedDay } from '../helpers/moderation.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: FinishedDay;
let truth: CohortTruth;

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = finishedDemoDay(studio);
  truth = generateCohort(studio, { sessions: 300, seed: 21 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

it('a coordinator finds the planted hawk, downloads the plot and the table, and adopts the cut', { timeout: 240_000 }, async () => {
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.one('coordinator')));
  await page.goto(`${studio.baseUrl}/studio/${day.one('coordinator').id}#results`);
  await page.getByTestId('studio-analytics-link').click();
  await page.getByTestId('analytics-summary').waitFor({ timeout: 90_000 });
  expect(await page.getByTestId('analytics-summary').innerText()).toMatch(/^301 completed sessions with \d+ independent observer ratings/);

  const flags = page.getByTestId('stringency-flags').locator('li');
  expect(await flags.count()).toBe(1);
  expect(await flags.first().innerText()).toContain(`${truth.hawk}: harsher than the average`);
  // One point and one interval per observer on the plot, the hawk labelled in words.
  const plot = page.getByTestId('analytics-stringency').locator('svg');
  expect(await plot.locator('circle').count()).toBeGreaterThanOrEqual(truth.observers.length);
  expect(await plot.locator('text', { hasText: /^hawk$/ }).count()).toBe(1);
  expect(await page.getByTestId('analytics-reliability').locator('tbody tr').count()).toBeGreaterThanOrEqual(6);
  expect(await page.getByTestId('analytics-brm').locator('figure').count()).toBe(3);

  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('analytics-stringency').getByRole('button', { name: /PNG/ }).click()]);
  const pngBytes = await readDownload(png);
  expect(pngBytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(pngBytes.readUInt32BE(16)).toBe(1280); // the 640-wide plot at twice its size

  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('analytics-stringency').getByRole('link', { name: /CSV/ }).click()]);
  const csvText = (await readDownload(csv)).toString('utf8');
  expect(csvText.split('\r\n')[0]).toBe('observer,n,effect,se,z,flag');
  expect(csvText).toContain(`${truth.hawk},`);

  const template = studio.assessment.plans.plan(day.sessionId)!.template.id;
  // The adopted cut is the coordinator's organisation's own version of the template.
  const organisation = studio.sessions.organisationOf(day.sessionId);
  const before = studio.templates.latest(template, organisation)!.version;
  await page.getByTestId('adopt-cut').getByRole('button', { name: 'Adopt as the pass mark' }).click();
  await page.getByTestId('adopted').waitFor({ timeout: 90_000 });
  expect(await page.getByTestId('adopted').innerText()).toMatch(new RegExp(`^Version ${before + 1} of the template now has an observation pass mark of \\d\\.\\d\\d \\(was 2\\.75\\)`));
  expect(studio.templates.latest(template, organisation)!.version).toBe(before + 1);

  // Modified Angoff: the coordinator is one judge, a moderator (through the API) the other.
  const angoff = page.getByTestId('analytics-angoff');
  const inputs = angoff.getByTestId('angoff-estimate');
  await inputs.first().waitFor({ timeout: 20_000 });
  const items = await inputs.evaluateAll((els) => els.map((el) => el.getAttribute('data-item')!));
  for (let i = 0; i < items.length; i++) await inputs.nth(i).fill('2.5');
  await angoff.getByRole('button', { name: 'Save my estimates' }).click();
  await angoff.getByText('Your estimates are saved.').waitFor({ timeout: 10_000 });
  expect(await angoff.locator('.not-enough').innerText()).toMatch(/at least 2 judges/);
  const moderatorSaved = await callAs(studio, day.one('moderator'), 'PUT', '/analytics/angoff', { templateId: template, estimates: Object.fromEntries(items.map((id) => [id, 2.9])) });
  expect(moderatorSaved.status).toBe(200);
  await page.reload();
  await page.getByTestId('angoff-cut').waitFor({ timeout: 90_000 });
  expect(await page.getByTestId('angoff-cut').innerText()).toMatch(/a mean rating of 2\.70\.$/);
  await page.getByTestId('analytics-angoff').getByRole('button', { name: 'Adopt 2.70 as the pass mark' }).click();
  await page.getByTestId('angoff-adopted').waitFor({ timeout: 10_000 });
  expect(studio.templates.latest(template, organisation)!.results?.observationPassMark).toBe(2.7);

  for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(size);
    expect(await axeViolations(page), `axe at ${size.width}px`).toEqual([]);
  }
});

it('an observer sees their own position and nobody else’s; a candidate is turned away', { timeout: 120_000 }, async () => {
  const session = truth.sessions.find((s) => s.lead === truth.hawk)!;
  const hawk = studio.sessions.listParticipants(session.sessionId).find((p) => p.displayName === truth.hawk)!;
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, hawk));
  await page.goto(`${studio.baseUrl}/analytics/${hawk.id}`);
  const own = page.getByTestId('analytics-own');
  await own.waitFor({ timeout: 60_000 });
  const text = await own.innerText();
  expect(text).toMatch(/your ratings are on average\s+\d\.\d\d points lower than the average observer/);
  expect(text).toContain('far enough from the average to be discussed');
  const whole = await page.locator('body').innerText();
  for (const o of truth.observers.filter((x) => x.name !== truth.hawk)) expect(whole).not.toContain(o.name);
  expect(await axeViolations(page)).toEqual([]);

  const candidate = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.one('candidate')))).page;
  await candidate.goto(`${studio.baseUrl}/analytics/${day.one('candidate').id}`);
  await candidate.getByTestId('analytics-not-allowed').waitFor({ timeout: 20_000 });
});

async function readDownload(download: import('playwright-core').Download): Promise<Buffer> {
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
