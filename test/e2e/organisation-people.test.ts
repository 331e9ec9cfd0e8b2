// Issue 13 end to end, in real Chromium, with real mail (a real SMTP server) and a real OpenID
// provider: an administrator invites a coordinator by email; the coordinator signs in by the
// emailed link, adds people, books a day for them from their studio, reissues the candidate's
// link (the old one is refused); then signs in again by single sign-on.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp-server.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { studioEnv } from '../helpers/postgres.ts';

let studio: TestStudio;
let browser: Browser;
let smtp: TestSmtp;
let oidc: TestOidcProvider;
const COORDINATOR_EMAIL = 'jo.bennett@northshire.example';

beforeAll(async () => {
  smtp = await startSmtp();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-org-e2e-'));
  const { mail } = loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_SMTP_URL: smtp.url, SIMSTUDIO_MAIL_FROM: 'SimStudio <no-reply@northshire.example>' });
  studio = await startTestStudio({ mail }, dataDir);
  oidc = await startOidcProvider({
    redirectUris: [`${studio.baseUrl}/auth/oidc/callback`],
    accounts: [{ sub: 'entra-jo-4711', email: COORDINATOR_EMAIL, name: 'Jo Bennett' }],
  });
  oidc.loginAs = 'entra-jo-4711';
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await oidc?.close();
  await smtp?.close();
});

/** The link in the newest email to `to`, as its reader would click it. */
async function emailedLink(to: string, count: number): Promise<string> {
  const to_ = () => smtp.received.filter((r) => r.rcptTo.includes(to)).map((r) => r.mail);
  await expect.poll(() => to_().length, { timeout: 15_000 }).toBe(count);
  const mail = to_().at(-1)!;
  return /https?:\/\/\S+\/auth\/magic\/[A-Za-z0-9_-]{43}/.exec(mail.text ?? '')![0];
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  return { context, page };
}

async function addPerson(page: Page, person: { name: string; email?: string; roles: string[]; ref?: string }): Promise<void> {
  await page.locator('#person-name').fill(person.name);
  await page.locator('#person-email').fill(person.email ?? '');
  for (const role of person.roles) await page.getByRole('checkbox', { name: role, exact: true }).check();
  if (person.ref) await page.locator('#person-ref').fill(person.ref);
  await page.getByRole('button', { name: 'Add person' }).click();
  await page.getByTestId('staff-notice').getByText(`${person.name} added.`).waitFor();
  for (const role of person.roles) await page.getByRole('checkbox', { name: role, exact: true }).waitFor();
}

it('administrator → coordinator by email → people → booking → reissued link → single sign-on', async () => {
  // The operator's first step (`npm run admin -- create-organisation …`).
  const organisation = studio.people.createOrganisation('Northshire Council');
  const admin = studio.people.create(organisation.id, { displayName: 'Ada Admin', email: 'ada@northshire.example', roles: ['administrator'] });
  const adminLink = `${studio.baseUrl}/auth/magic/${studio.magicLinks.issue(admin.id, 'admin-link', null)}`;

  // The administrator adds the coordinator and sends them a sign-in link by email.
  const { page: adminPage } = await newPage();
  await adminPage.goto(adminLink);
  await adminPage.waitForURL(`${studio.baseUrl}/staff`);
  await adminPage.getByTestId('staff-name').getByText('Ada Admin').waitFor();
  await addPerson(adminPage, { name: 'Jo Bennett', email: COORDINATOR_EMAIL, roles: ['Coordinator'] });
  const row = adminPage.getByTestId('people').getByRole('row').filter({ hasText: 'Jo Bennett' });
  await row.getByRole('button', { name: 'Send sign-in link' }).click();
  await adminPage.getByTestId('staff-notice').getByText(`Sign-in link sent to ${COORDINATOR_EMAIL}.`).waitFor();
  expect(await axeViolations(adminPage)).toEqual([]);

  // The coordinator opens the emailed link and adds the day's people.
  const { context: joContext, page } = await newPage();
  await page.goto(await emailedLink(COORDINATOR_EMAIL, 1));
  await page.waitForURL(`${studio.baseUrl}/staff`);
  await page.getByTestId('staff-name').getByText('Jo Bennett').waitFor();
  await addPerson(page, { name: 'Sam Carter', roles: ['Candidate'], ref: 'REG-2026-0042' });
  await addPerson(page, { name: 'Alex Morgan', roles: ['Actor'] });
  await addPerson(page, { name: 'Priya Shah', email: 'priya.shah@northshire.example', roles: ['Lead observer'] });
  const people = studio.people.list(organisation.id);
  const personId = (name: string) => people.find((p) => p.displayName === name)!.id;

  // From their studio, they book a day for those people.
  await page.getByTestId('desk-coordinator').click();
  await page.waitForURL(`${studio.baseUrl}/studio/desk-coordinator`);
  await page.getByRole('tab', { name: /Book/ }).click();
  await page.locator('#book-title').fill('Northshire practitioner day');
  await page.locator('#book-template').selectOption('practitioner');
  await page.locator('#book-candidate-name').fill('Sam Carter');
  await page.locator('#book-candidate-ref').fill('REG-2026-0042');
  await page.locator('#book-lead').fill('Priya Shah');
  await page.locator('#book-actor-0-name').fill('Alex Morgan');
  await page.getByTestId('book-submit').click();
  await page.getByTestId('booking-result').waitFor({ timeout: 15_000 });

  const session = studio.sessions.listSessions(organisation.id).find((s) => s.title === 'Northshire practitioner day')!;
  expect(studio.sessions.organisationOf(session.id)).toBe(organisation.id);
  const booked = studio.sessions.listParticipants(session.id);
  const byRole = (role: string) => booked.find((p) => p.role === role)!;
  expect(byRole('candidate').personId).toBe(personId('Sam Carter'));
  expect(byRole('actor').personId).toBe(personId('Alex Morgan'));
  expect(byRole('leadObserver').personId).toBe(personId('Priya Shah'));
  expect(byRole('coordinator').personId).toBe(personId('Jo Bennett'));
  // The lead observer signs in as herself: nobody is handed a link that signs in as her.
  await page.locator('[data-testid="invite-signs-in"][data-role="leadObserver"]').waitFor();
  expect(await page.locator('[data-testid="invite-link"][data-role="leadObserver"]').count()).toBe(0);

  // The candidate's link is reissued: the old one is refused, the new one works.
  const oldLink = (await page.locator('[data-testid="invite-link"][data-role="candidate"]').textContent())!.trim();
  const candidateRow = page.getByTestId('booking-result').locator('li.invite').filter({ hasText: 'Sam Carter' });
  await candidateRow.getByTestId('invite-reissue').click();
  await page.getByTestId('invite-manage-status').getByText('New link for Sam Carter').waitFor();
  const newLink = (await page.locator('[data-testid="invite-link"][data-role="candidate"]').textContent())!.trim();
  expect(newLink).not.toBe(oldLink);
  expect((await fetch(oldLink, { redirect: 'manual' })).status).toBe(401);
  expect((await fetch(newLink, { redirect: 'manual' })).status).toBe(303);
  const actions = studio.audit.list(session.id).map((e) => e.action);
  expect(actions).toEqual(expect.arrayContaining(['invite.reissued', 'invite.refused', 'invite.opened']));
  await joContext.close();

  // The administrator turns on single sign-on; the coordinator signs in with it.
  await adminPage.locator('#sso-issuer').fill(oidc.settings.issuer);
  await adminPage.locator('#sso-client').fill(oidc.settings.clientId);
  await adminPage.locator('#sso-secret').fill(oidc.settings.clientSecret);
  await adminPage.getByRole('button', { name: 'Save single sign-on' }).click();
  await adminPage.getByTestId('staff-notice').getByText('Single sign-on saved.').waitFor();

  const { page: ssoPage } = await newPage();
  await ssoPage.goto(`${studio.baseUrl}/signin`);
  await ssoPage.getByTestId('sso-start').getByText('Sign in with Northshire Council').click();
  await ssoPage.waitForURL(`${studio.baseUrl}/staff`);
  await ssoPage.getByTestId('staff-name').getByText('Jo Bennett').waitFor();
  expect(await ssoPage.getByTestId('assignments').getByText('Northshire practitioner day').count()).toBe(1);
  const methods = studio.db.prepare("SELECT method FROM staff_sessions WHERE person_id = ? ORDER BY created_at").all(personId('Jo Bennett')) as Array<{ method: string }>;
  expect(methods.map((m) => m.method)).toEqual(['admin-link', 'oidc']);
});
