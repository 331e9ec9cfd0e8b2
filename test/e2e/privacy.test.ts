// The privacy and recording notices in Chromium (issue 15 item 5): a candidate opening their
// invite link reads both notices before the device check, declines, is told what happens next
// and gets no device check; the coordinator's board says the candidate declined, and when; the
// candidate changes their mind, accepts, and reaches the device check. (The server's refusal of
// a join without acceptance is test/integration/privacy.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { studioPath } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { axeViolations } from '../helpers/axe.ts';
import { INSTRUMENT, launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { byRole, createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let participants: Participant[];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  studio = await startTestStudio();
  ({ participants } = createSession(studio));
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await studio?.close();
});

/** The candidate's own browser: their invite link, nothing answered on their behalf. */
async function openAsCandidate(candidate: Participant): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  await context.addInitScript(INSTRUMENT);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(await studio.invites.link(studio.baseUrl, candidate));
  return page;
}

describe('privacy and recording notices in the browser', () => {
  it('a candidate who declines cannot join and the coordinator sees it; accepting leads to the device check', { timeout: 120_000 }, async () => {
    const candidate = byRole(participants, 'candidate');
    const organisation = studio.people.organisation(studio.sessions.organisationOf(candidate.sessionId)!)!;
    const page = await openAsCandidate(candidate);

    // Both notices, with the organisation named, before any device check.
    await page.getByRole('heading', { name: 'Before you join: privacy and recording' }).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('privacy-notice-text').textContent()).toContain(`${organisation.name} is the data controller`);
    expect(await page.getByTestId('recording-notice-text').textContent()).toContain('This assessment is recorded');
    expect(await page.getByTestId('join-button').count()).toBe(0);
    expect(await axeViolations(page), 'the notices page').toEqual([]);

    await page.getByTestId('notices-decline').click();
    const declined = page.getByTestId('notices-declined');
    await declined.waitFor({ timeout: 10_000 });
    const told = await declined.textContent();
    expect(told).toContain('You cannot join this assessment');
    expect(told).toContain('contact your assessment coordinator');
    expect(told).toContain('you can accept the notices below');
    // Declining moves the focus to what happens next.
    await pollUntil('focus on the decline message', 5_000, () =>
      page.evaluate(() => document.activeElement?.id === 'notices-declined-heading'),
    );
    expect(await page.getByTestId('join-button').count()).toBe(0);
    expect(await page.getByTestId('notices-decline').count()).toBe(0);
    const stored = studio.db.prepare('SELECT decision FROM notice_answers WHERE participant_id = ? ORDER BY id').all(candidate.id);
    expect(stored).toEqual([{ decision: 'declined' }]);
    expect(await axeViolations(page), 'the page after declining').toEqual([]);

    // The coordinator's board: the candidate declined, and when.
    const coordinator = byRole(participants, 'coordinator');
    const { page: board } = await openInvite(browser, await studio.invites.link(studio.baseUrl, coordinator));
    contexts.push(board.context());
    await board.goto(`${studio.baseUrl}${studioPath(coordinator.id)}#board`);
    const candidateRow = board.getByTestId('board-notice').filter({ hasText: candidate.displayName });
    await candidateRow.waitFor({ timeout: 20_000 });
    expect(await candidateRow.getAttribute('data-status')).toBe('declined');
    expect(await candidateRow.textContent()).toMatch(new RegExp(`^${candidate.displayName} \\(Candidate\\): declined .*\\d{2}:\\d{2}`));
    // Who has not answered yet is listed too (the actor has not opened their link).
    const actorRow = board.getByTestId('board-notice').filter({ hasText: byRole(participants, 'actor').displayName });
    expect(await actorRow.getAttribute('data-status')).toBe('not-answered');
    expect(await board.getByTestId('board-notices').textContent()).toContain('A candidate who declined cannot join');

    // The candidate changes their mind: on to the device check.
    await page.getByTestId('notices-accept').click();
    await pollUntil('the device check', 20_000, async () => (await page.getByTestId('join-button').count()) === 1);
    expect(await page.getByTestId('privacy-notices').count()).toBe(0);
    // The board follows (it polls every 2 s): the candidate is no longer among those who have not accepted.
    await pollUntil('the board to show the acceptance', 15_000, async () => (await candidateRow.count()) === 0);
    const answers = studio.db.prepare('SELECT decision FROM notice_answers WHERE participant_id = ? ORDER BY id').all(candidate.id);
    expect(answers).toEqual([{ decision: 'declined' }, { decision: 'accepted' }]);
    expect(studio.audit.list(candidate.sessionId).filter((e) => e.actorParticipantId === candidate.id && e.action.startsWith('privacy.')).map((e) => e.action)).toEqual([
      'privacy.declined',
      'privacy.accepted',
    ]);

    // Reloading does not ask again: the current versions are accepted.
    await page.reload();
    await pollUntil('the device check after reload', 20_000, async () => (await page.getByTestId('join-button').count()) === 1);
    expect(await page.getByTestId('privacy-notices').count()).toBe(0);

    // The coordinator's editor of the notices (a studio tab).
    await board.getByRole('tab', { name: 'Privacy notices' }).click();
    await board.getByRole('tabpanel', { name: 'Privacy notices' }).getByRole('textbox').first().waitFor({ timeout: 10_000 });
    expect(await axeViolations(board), 'the studio’s privacy notices tab').toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
