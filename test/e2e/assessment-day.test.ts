// The assessment day end to end in headless Chromium with candidate, two actors, lead
// observer and observer pages. Each page shows the right phase and content; media follows the
// phase; countdowns agree across pages whose clocks are skewed; a candidate who closes the
// page and reopens the invite lands in the same phase with the same time left.
//
// The test never races a deadline: every phase in which it checks something is soft (or hard
// with ten minutes on the clock) and the lead observer moves on from the page when the checks
// are done. One short hard phase (briefing 2) is only passed through, so that the day's own
// timer moves it on.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Participant } from '../../shared/domain.ts';
import { bookDay, testTemplate, type BookedDay } from '../helpers/assessment.ts';
import { decoding, launchBrowser, openInvite, pageErrors, pollUntil, type ParticipantPage } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;
const pages = new Map<string, ParticipantPage>();

/** Phases the test inspects last as long as the checks take; briefing 2 ends by its timer. */
const TEMPLATE = testTemplate('e2e-day', 'End-to-end day', 2, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'briefing', scenario: 2, durationSeconds: 3, timer: 'hard' },
  { kind: 'scenario', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 600, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

/** Skews the page's wall clock (Date.now()), like a computer whose clock is wrong: the
 *  countdown must not depend on it. */
const skewClock = (skewMs: number) => {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skewMs;
};

async function open(who: Participant, skewMs = 0): Promise<Page> {
  const link = await studio.invites.link(studio.baseUrl, who);
  const opened = await openInvite(browser, link, skewMs ? { initScript: skewClock, arg: skewMs } : undefined);
  pages.set(who.id, opened);
  const join = opened.page.getByTestId('join-button');
  if (who.role === 'candidate' || who.role === 'actor') {
    await pollUntil(`${who.role} device check`, 20_000, () => join.isEnabled().catch(() => false));
    await join.click();
  }
  return opened.page;
}

/** When each step was reached (printed if the test fails: where a slow machine lost its time). */
const steps: string[] = [];
let startedAt = 0;
function step(what: string): void {
  steps.push(`${((Date.now() - startedAt) / 1000).toFixed(1)} s  ${what}`);
}

async function phaseOf(page: Page): Promise<{ kind: string | null; scenario: number | null; index: number | null }> {
  return page.evaluate(() => {
    const d = window.simstudio?.day;
    return { kind: d?.phaseKind ?? null, scenario: d?.scenario ?? null, index: d?.state?.phaseIndex ?? null };
  });
}


async function waitForPhase(page: Page, kind: string, scenario: number | null, timeoutMs = 30_000): Promise<void> {
  await pollUntil(`phase ${kind} ${scenario ?? ''}`, timeoutMs, async () => {
    const p = await phaseOf(page);
    return p.kind === kind && (scenario === null || p.scenario === scenario);
  });
}

async function visible(page: Page, testId: string): Promise<boolean> {
  return page.getByTestId(testId).first().isVisible().catch(() => false);
}

/**
 * Estimated phase deadline on the page's corrected clock, measured against the real clock
 * (performance.timeOrigin + performance.now(), which the skew leaves alone). Waits until the
 * page has taken a clock sample: before that its countdown is only a first guess.
 */
async function deadlineEstimate(page: Page): Promise<number> {
  await pollUntil('clock synced', 15_000, () => page.evaluate(() => window.simstudio?.day?.synced ?? false));
  return pollUntil('a countdown', 15_000, () =>
    page.evaluate(() => {
      const remaining = window.simstudio?.day?.remainingMs() ?? null;
      return remaining === null ? undefined : performance.timeOrigin + performance.now() + remaining;
    }),
  );
}

/**
 * The lead observer moves the day on from phase `from` with "Next phase" (confirming, as a
 * hard timer with minutes left asks to), once their page shows that phase.
 */
async function nextPhase(lead: Page, from: number): Promise<void> {
  await pollUntil(`lead page in phase ${from}`, 15_000, async () => (await phaseOf(lead)).index === from);
  await lead.getByRole('button', { name: 'Next phase' }).click();
  if (TEMPLATE.phases[from]?.timer === 'hard') await lead.getByRole('button', { name: 'Yes, go to the next phase' }).click();
  await pollUntil(`lead page past phase ${from}`, 15_000, async () => ((await phaseOf(lead)).index ?? -1) > from);
}

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  const template = studio.templates.saveNewVersion(TEMPLATE);
  day = bookDay(studio, template.id);
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

describe('assessment day', () => {
  it('runs the whole day: phases, content and media per role; countdowns agree', async () => {
    startedAt = Date.now();
    onTestFailed(() => void process.stderr.write(`[e2e] assessment day, steps reached:\n  ${steps.join('\n  ')}\n`));
    const lead = await open(day.lead);
    const observer = await open(day.observer);
    const candidate = await open(day.candidate, 5_000); // clock 5 s fast
    const actor1 = await open(day.actor1, -3_000); // clock 3 s slow
    const actor2 = await open(day.actor2);

    step('pages open');
    // Waiting room: nobody is on stage, nobody decodes anyone.
    await waitForPhase(candidate, 'waiting', null);
    await pollUntil('waiting room shown', 10_000, () => visible(candidate, 'waiting-room'));
    expect(await decoding(candidate)).toEqual([]);

    await lead.getByRole('button', { name: 'Start the day' }).click();

    // Briefing 1: the candidate reads their briefing, no live media; observers see the guidance.
    await waitForPhase(candidate, 'briefing', 1);
    await pollUntil('candidate briefing shown', 10_000, () => visible(candidate, 'candidate-briefing'));
    expect(await visible(candidate, 'actor-brief')).toBe(false);
    expect(await visible(candidate, 'observer-guidance')).toBe(false);
    await pollUntil('actor 1 sees their brief', 10_000, () => visible(actor1, 'actor-brief'));
    await pollUntil('observer sees guidance', 10_000, () => visible(observer, 'observer-guidance'));
    expect(await decoding(candidate)).toEqual([]);

    step('briefing 1 content');
    // Countdowns agree within 250 ms although two pages' clocks are skewed by seconds.
    const estimates = await Promise.all([lead, observer, candidate, actor1, actor2].map(deadlineEstimate));
    expect(estimates).toHaveLength(5);
    expect(Math.max(...estimates) - Math.min(...estimates)).toBeLessThan(250);

    step('countdowns compared');
    // Scenario 1: candidate ↔ actor 1; actor 2 waits off stage; observers see both.
    await nextPhase(lead, 0);
    await waitForPhase(candidate, 'scenario', 1, 15_000);
    await pollUntil('candidate decodes actor 1', 15_000, async () => (await decoding(candidate)).includes(day.actor1.id));
    await pollUntil('actor 1 decodes candidate', 15_000, async () => (await decoding(actor1)).includes(day.candidate.id));
    await pollUntil('observer decodes both', 15_000, async () =>
      [day.actor1.id, day.candidate.id].every((id) => decoding(observer).then((d) => d.includes(id))),
    );
    expect(await decoding(candidate)).toEqual([day.actor1.id]);
    expect(await decoding(actor2)).toEqual([]);
    await pollUntil('actor 2 told they are off stage', 10_000, () => visible(actor2, 'off-stage'));

    step('scenario 1 media');
    // Reopen the candidate's page mid-scenario: same phase, same time left.
    const before = await deadlineEstimate(candidate);
    await pages.get(day.candidate.id)!.context.close();
    const reopened = await open(day.candidate, 5_000);
    await waitForPhase(reopened, 'scenario', 1, 10_000);
    const after = await deadlineEstimate(reopened);
    expect(Math.abs(after - before)).toBeLessThan(250);

    step('candidate page reopened');
    // Briefing 2 (hard, 3 s) ends by its own timer; then scenario 2: candidate ↔ actor 2,
    // actor 1 off stage.
    await nextPhase(lead, 1);
    await waitForPhase(reopened, 'scenario', 2, 30_000);
    await pollUntil('candidate decodes actor 2', 15_000, async () => (await decoding(reopened)).includes(day.actor2.id));
    expect(await decoding(reopened)).toEqual([day.actor2.id]);
    await pollUntil('actor 1 decodes nobody off stage', 10_000, async () => (await decoding(actor1)).length === 0);

    step('scenario 2 media');
    // Written exercise: no live media; the candidate sees the prompt.
    await nextPhase(lead, 3);
    await waitForPhase(reopened, 'writtenExercise', null, 15_000);
    await pollUntil('written prompt', 10_000, () => visible(reopened, 'written-prompt'));
    await pollUntil('no media in the written exercise', 10_000, async () => (await decoding(reopened)).length === 0);

    step('written exercise');
    // Reflective conversation: the lead observer is on stage with the candidate; the other
    // observer stays hidden.
    await nextPhase(lead, 4);
    await waitForPhase(reopened, 'reflectiveConversation', null, 15_000);
    // The lead checks their camera and microphone before going on camera.
    const leadJoin = lead.getByTestId('join-button');
    await pollUntil('lead devices ready', 20_000, () => leadJoin.isEnabled());
    await leadJoin.click();
    await pollUntil('candidate decodes the lead observer', 20_000, async () => (await decoding(reopened)).includes(day.lead.id));
    expect(await decoding(reopened)).toEqual([day.lead.id]);
    const candidatePeers = await reopened.evaluate(() => window.simstudio?.state.peers.map((p) => p.role) ?? []);
    expect(candidatePeers).not.toContain('observer');
    expect(await reopened.content()).not.toContain(day.observer.displayName);

    step('reflective conversation media');
    // Soft timer: only the lead observer ends it (a soft phase asks for no confirmation).
    await nextPhase(lead, 5);
    await pollUntil('day complete', 10_000, async () => (await reopened.evaluate(() => window.simstudio?.day?.state?.status)) === 'complete');
    // Briefing 2 was ended by the timer, every other phase by the lead observer.
    const audit = studio.audit.list(day.sessionId);
    expect(audit.filter((e) => e.action === 'day.timer').map((e) => e.detail)).toEqual([
      expect.objectContaining({ fromPhaseIndex: 2, toPhaseIndex: 3 }),
    ]);
    expect(audit.filter((e) => e.action === 'day.advance')).toHaveLength(5);
  }, 360_000);
});
