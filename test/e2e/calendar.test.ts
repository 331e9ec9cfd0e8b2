// Issue 15 end to end in Chromium, through a real SMTP server: a coordinator books next week;
// the candidate, actor and lead observer receive invitations with calendar files (parsed here
// by a real iCalendar parser); the coordinator finds the session in the calendar, opens its
// page, moves it (everyone with an address is sent the change, same event, new time) and swaps
// its actor (the old actor is told the event is cancelled); the old actor's link is refused.
import ICAL from 'ical.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { bookDay, shortTemplate, type BookedDay } from '../helpers/assessment.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, openInvite } from '../helpers/browser.ts';
import { startSmtp, type Received, type TestSmtp } from '../helpers/smtp-server.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { dateToLocalInput } from '../../client/studio/format.ts';

let studio: TestStudio;
let smtp: TestSmtp;
let browser: Browser;
let day: BookedDay;
const DAY = 86_400_000;
const ADDRESS = { candidate: 'casey@home.example', actor: 'ada@actors.example', lead: 'lee@council.example' };

/** The one calendar event a message carries. */
function eventOf(received: Received): { method: string; uid: string; sequence: number; start: number } {
  const files = received.mail.attachments.filter((a) => a.contentType === 'text/calendar');
  expect(files, `calendar files in "${received.mail.subject}"`).toHaveLength(1);
  const root = new ICAL.Component(ICAL.parse(files[0]!.content.toString('utf8')) as unknown[]);
  const event = root.getFirstSubcomponent('vevent')!;
  return {
    method: String(root.getFirstPropertyValue('method')),
    uid: String(event.getFirstPropertyValue('uid')),
    sequence: Number(event.getFirstPropertyValue('sequence')),
    start: (event.getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().getTime(),
  };
}

/** Messages to `address` received since message number `from`. */
const mailTo = (address: string, from = 0): Received[] => smtp.received.slice(from).filter((r) => r.rcptTo.includes(address));

beforeAll(async () => {
  smtp = await startSmtp();
  studio = await startTestStudio({ mail: { ...loadConfig({}).mail, smtp: { url: smtp.url, from: { name: 'SimStudio', address: 'no-reply@studio.example' } } } });
  studio.templates.saveNewVersion({ ...shortTemplate(600, 'calendar-600'), name: 'One-hour day' });
  const organisation = studio.sessions.defaultOrganisation();
  const candidate = studio.people.create(organisation, { displayName: 'Casey Candidate', email: ADDRESS.candidate, roles: ['candidate'], candidateRef: 'CAL-0001' });
  const actor = studio.people.create(organisation, { displayName: 'Ada Actor', email: ADDRESS.actor, roles: ['actor'] });
  const lead = studio.people.create(organisation, { displayName: 'Lee Lead', email: ADDRESS.lead, roles: ['leadObserver'] });
  const nextWeek = new Date(Date.now() + 7 * DAY);
  nextWeek.setHours(10, 0, 0, 0);
  day = bookDay(studio, 'calendar-600', {
    title: 'Next week’s assessment',
    scheduledStart: nextWeek.toISOString(),
    candidate: { displayName: 'Casey Candidate', candidateRef: 'CAL-0001', personId: candidate.id },
    leadObserver: { displayName: 'Lee Lead', personId: lead.id },
    actors: [
      { displayName: 'Ada Actor', personId: actor.id, scenarios: [1] },
      { displayName: 'Ben Actor', scenarios: [2] },
    ],
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await smtp?.close();
});

it('coordinator: booked next week (invitations mailed) → the calendar → reschedule (changes mailed) → swap the actor (cancellation mailed); the old actor’s link is refused', async () => {
  // The invitations: a calendar event at the booked time; candidates and actors get their link.
  const booked = studio.assessment.plans.plan(day.sessionId)!.scheduledStart;
  await expect.poll(() => Object.values(ADDRESS).every((a) => mailTo(a).length === 1), { timeout: 30_000 }).toBe(true);
  const invitations = Object.fromEntries(Object.entries(ADDRESS).map(([who, a]) => [who, eventOf(mailTo(a)[0]!)]));
  for (const invitation of Object.values(invitations)) expect(invitation).toMatchObject({ method: 'REQUEST', sequence: 0, start: booked });
  expect(new Set(Object.values(invitations).map((i) => i.uid)).size).toBe(3);
  // The link the actor was mailed (the one they will use, and the one to be refused).
  const oldActorLink = /https?:\/\/\S+\/join\/\S+/.exec(mailTo(ADDRESS.actor)[0]!.mail.text ?? '')?.[0] ?? 'no link in the mail';
  expect(oldActorLink.startsWith(`${studio.baseUrl}/join/`)).toBe(true);
  expect(mailTo(ADDRESS.lead)[0]!.mail.text).not.toContain('/join/');
  expect((await fetch(oldActorLink, { redirect: 'manual' })).status).toBe(303);
  const afterInvitations = smtp.received.length;

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
  // Everyone with an address is sent the change: the same event, a later sequence, the new time.
  await expect.poll(() => Object.values(ADDRESS).every((a) => mailTo(a, afterInvitations).length === 1), { timeout: 30_000 }).toBe(true);
  for (const [who, address] of Object.entries(ADDRESS)) {
    expect(eventOf(mailTo(address, afterInvitations)[0]!), who).toEqual({ method: 'REQUEST', uid: invitations[who]!.uid, sequence: 1, start: moved.getTime() });
  }
  const afterChanges = smtp.received.length;

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
  // The old actor is told they are off the session: their event is cancelled.
  await expect.poll(() => mailTo(ADDRESS.actor, afterChanges).length, { timeout: 30_000 }).toBe(1);
  expect(eventOf(mailTo(ADDRESS.actor, afterChanges)[0]!)).toMatchObject({ method: 'CANCEL', uid: invitations.actor!.uid });

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
