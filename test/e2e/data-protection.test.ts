// The data protection section of the staff page, in real Chromium: an administrator sets a
// retention period, sees a dry run's report, checks the audit log and erases a person, who then
// appears under a pseudonym only; the page passes axe (WCAG 2.2 AA).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
});

it('an administrator sets a period, runs a dry run, checks the audit log and erases a person', async () => {
  const organisation = studio.people.createOrganisation('Elm Borough');
  const admin = studio.people.create(organisation.id, { displayName: 'Eda Elm-Admin', email: 'eda@elm.example', roles: ['administrator'] });
  const leaver = studio.people.create(organisation.id, { displayName: 'Orrin Departed', email: 'orrin@elm.example', roles: ['observer'] });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${studio.baseUrl}/auth/magic/${studio.magicLinks.issue(admin.id, 'admin-link', null)}`);
  await page.waitForURL(`${studio.baseUrl}/staff`);

  const periods = page.getByTestId('retention-periods');
  await periods.getByLabel('Email log').fill('45');
  await periods.getByRole('button', { name: 'Save retention periods' }).click();
  await page.getByText('Retention periods saved.').waitFor();
  await expect.poll(() => studio.dataProtection.periods.periods(organisation.id).emailLog).toBe(45);

  await page.getByRole('button', { name: 'Dry run' }).click();
  await page.getByTestId('retention-report').getByRole('row', { name: /Recordings/ }).waitFor();
  await page.getByRole('button', { name: 'Check the audit log' }).click();
  await page.getByTestId('audit-chain').getByText('The audit log is intact.').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  const erase = page.getByTestId('erase-person');
  await erase.getByLabel('Person').selectOption({ label: 'Orrin Departed' });
  await erase.getByLabel('Reason for the erasure').fill('Left the organisation and asked to be erased');
  await erase.getByLabel('I understand this cannot be undone').check();
  await erase.getByRole('button', { name: 'Erase' }).click();
  await page.getByText(/Erased: now known as Erased person [0-9a-f]{8}/).waitFor();
  expect(studio.people.get(leaver.id)).toMatchObject({ email: null, displayName: expect.stringMatching(/^Erased person /) });
  expect(await page.getByText('Orrin Departed').count()).toBe(0);
  await context.close();
}, 120_000);
