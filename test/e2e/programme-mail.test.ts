// The studio's Email tab in headless Chromium: a coordinator books a candidate who has an email
// address, the invitation reaches a real SMTP server, the tab lists it as sent with its
// calendar file; a template with a misspelt placeholder is refused with the server's sentence;
// a preview renders the edited template; the saved one is what the next booking sends; the tab
// passes axe at WCAG 2.2 AA.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, openInvite, pageErrors } from '../helpers/browser.ts';
import { callAs } from '../helpers/moderation.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp-server.ts';
import { OPEN_ROOM, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let smtp: TestSmtp;
let browser: Browser;

beforeAll(async () => {
  smtp = await startSmtp();
  studio = await startTestStudio({ mail: { ...loadConfig({}).mail, smtp: { url: smtp.url, from: { name: 'SimStudio', address: 'no-reply@studio.example' } } } });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await smtp?.close();
  expect(pageErrors).toEqual([]);
});

it('lists the invitation as sent, refuses a bad placeholder, previews and saves a template', { timeout: 120_000 }, async () => {
  studio.templates.saveNewVersion(shortTemplate(3));
  const org = studio.people.createOrganisation('Eastmoor Council');
  const coordinator = studio.sessions.create({ ...OPEN_ROOM, organisationId: org.id }).participants.find((p) => p.role === 'coordinator')!;
  const book = async (ref: string, email: string, title: string) => {
    const person = studio.people.create(org.id, { displayName: 'Robin Reed', email, roles: ['candidate'], candidateRef: ref });
    const res = await callAs<{ sessionId: string }>(studio, coordinator, 'POST', '/studio/sessions', {
      ...booking('short-3s', { title, scheduledStart: '2027-02-02T10:00:00.000Z', candidate: { displayName: 'Robin Reed', candidateRef: ref, personId: person.id } }),
    });
    expect(res.status).toBe(201);
  };
  await book('EM-1', 'robin@home.example', 'Eastmoor day');
  await expect.poll(() => smtp.received.filter((r) => r.rcptTo[0] === 'robin@home.example').length, { timeout: 20_000 }).toBe(1);

  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, coordinator));
  await page.goto(`${studio.baseUrl}/studio/${coordinator.id}#mail`);
  const row = page.getByTestId('mail-delivery').filter({ hasText: 'robin@home.example' });
  await row.waitFor({ timeout: 30_000 });
  expect(await row.getAttribute('data-state')).toBe('sent');
  expect(await row.innerText()).toContain('Invitation: Eastmoor day on Tuesday 2 February 2027 (invitation.ics)');

  // A misspelt placeholder: refused, with the server's sentence.
  await page.getByTestId('mail-subject').fill('Your day: {{sesion}}');
  await page.getByTestId('mail-save').click();
  await expect.poll(() => page.getByTestId('mail-error').innerText(), { timeout: 10_000 }).toContain('{{sesion}} is not a placeholder of the invitation email');

  // Fixed, previewed (a sample candidate), saved.
  await page.getByTestId('mail-subject').fill('Your day: {{session}} at {{time}}');
  await page.getByTestId('mail-preview').click();
  await expect.poll(() => page.getByTestId('mail-preview-output').innerText(), { timeout: 10_000 }).toContain('Subject: Your day: Practitioner assessment (sample) at');
  await page.getByTestId('mail-save').click();
  await page.getByRole('status').filter({ hasText: 'The invitation email is saved' }).waitFor({ timeout: 10_000 });
  expect(await axeViolations(page)).toEqual([]);

  await book('EM-2', 'sky@home.example', 'Second Eastmoor day');
  await expect.poll(() => smtp.received.find((r) => r.rcptTo[0] === 'sky@home.example')?.mail.subject, { timeout: 20_000 }).toBe('Your day: Second Eastmoor day at 10:00');
});
