// A guided tour of every page and state an assessment day reaches, for every role, in real
// headless Chromium against a real studio: the device check, waiting room, briefing, call,
// written exercise, reflective conversation and end of day for candidate and actor; a day
// stopped early (the lead's form, the candidate's and the lead's pages after it); the
// observer and lead views; the coordinator's studio tabs; the recordings; moderation; and the
// candidate's result. At each state the tour waits until the page shows it, then calls the
// visitor (the accessibility test runs axe there; `npm run screenshots` takes pictures).
//
// Every phase of the tour's day has a soft timer: the lead observer moves it on when the
// visitor is done, so nothing races a clock.
import type { Browser, Page } from 'playwright-core';
import type { Participant } from '../../shared/domain.ts';
import { bookDay, testTemplate } from './assessment.ts';
import { decoding, openInvite, pollUntil } from './browser.ts';
import { callAs, finishedDemoDay } from './moderation.ts';
import type { TestStudio } from './studio.ts';

export interface TourStop {
  /** Who is looking: candidate, actor, observer, lead, coordinator, moderator. */
  role: string;
  /** What they are looking at, e.g. "device-check", "call", "studio-templates". */
  state: string;
  page: Page;
}

export type TourVisitor = (stop: TourStop) => Promise<void>;

export const TOUR_VIEWPORT = { width: 1280, height: 800 };

const TOUR_TEMPLATE = testTemplate('tour-day', 'Tour day', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 600, timer: 'soft' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

const STUDIO_TABS = ['Live board', 'Book a session', 'Scenario bank', 'Templates', 'Results', 'Email'] as const;

/** Long enough for a loaded 2-core machine; a state that never comes fails the tour by name. */
const WAIT_MS = 30_000;

async function dayPhase(page: Page): Promise<{ kind: string | null; index: number | null; status: string | null }> {
  return page.evaluate(() => {
    const d = window.simstudio?.day;
    return { kind: d?.phaseKind ?? null, index: d?.state?.phaseIndex ?? null, status: d?.state?.status ?? null };
  });
}

async function waitForPhase(page: Page, kind: string): Promise<void> {
  await pollUntil(`phase ${kind}`, WAIT_MS, async () => (await dayPhase(page)).kind === kind);
}

async function shown(page: Page, testId: string): Promise<void> {
  await page.getByTestId(testId).first().waitFor({ state: 'visible', timeout: WAIT_MS });
}


/** Presses a day control on the lead's page, confirming if the page asks (someone absent). */
async function dayControl(lead: Page, button: string, confirm: string, done: () => Promise<boolean>): Promise<void> {
  await lead.getByRole('button', { name: button }).click();
  const yes = lead.getByRole('button', { name: confirm });
  await pollUntil(`${button} done`, WAIT_MS, async () => {
    if (await done()) return true;
    if (await yes.isVisible().catch(() => false)) await yes.click();
    return false;
  });
}

/** The lead observer moves the day on from phase `from`. */
async function nextPhase(lead: Page, from: number): Promise<void> {
  await pollUntil(`lead page in phase ${from}`, WAIT_MS, async () => (await dayPhase(lead)).index === from);
  await dayControl(lead, 'Next phase', 'Yes, go to the next phase', async () => {
    const p = await dayPhase(lead);
    return (p.index ?? -1) > from || p.status === 'complete';
  });
}

export interface TourOptions {
  studio: TestStudio;
  browser: Browser;
  visit: TourVisitor;
  /** Called when the tour reaches a milestone (for logs of where a slow run lost its time). */
  onStep?: (what: string) => void;
}

export interface TourResult {
  /** Every stop the visitor was called at, in order. */
  stops: Array<{ role: string; state: string }>;
}

export async function runTour({ studio, browser, visit, onStep = () => {} }: TourOptions): Promise<TourResult> {
  const stops: TourResult['stops'] = [];
  const stop = async (role: string, state: string, page: Page): Promise<void> => {
    onStep(`${role} ${state}`);
    stops.push({ role, state });
    await visit({ role, state, page });
  };
  const open = async (who: Participant): Promise<Page> => {
    const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, who));
    await page.setViewportSize(TOUR_VIEWPORT);
    return page;
  };
  const joinStage = async (page: Page, role: string): Promise<void> => {
    const join = page.getByTestId('join-button');
    await pollUntil(`${role} device check ready`, WAIT_MS, () => join.isEnabled().catch(() => false));
    await join.click();
  };

  const day = bookDay(studio, studio.templates.saveNewVersion(TOUR_TEMPLATE).id, {
    actors: [{ displayName: 'Ada Actor', scenarios: [1] }],
  });

  // Device check, then the waiting room.
  const candidate = await open(day.candidate);
  await pollUntil('candidate device check ready', WAIT_MS, () => candidate.getByTestId('join-button').isEnabled().catch(() => false));
  await stop('candidate', 'device-check', candidate);
  await joinStage(candidate, 'candidate');
  await shown(candidate, 'waiting-room');
  await stop('candidate', 'waiting-room', candidate);

  const actor = await open(day.actor1);
  await joinStage(actor, 'actor');
  await shown(actor, 'waiting-room');
  await stop('actor', 'waiting-room', actor);
  const lead = await open(day.lead);
  await lead.getByRole('button', { name: 'Start the day' }).waitFor({ timeout: WAIT_MS });
  await stop('lead', 'waiting-room', lead);
  const observer = await open(day.observer);
  await waitForPhase(observer, 'waiting');
  await stop('observer', 'waiting-room', observer);

  // The coordinator's studio, tab by tab.
  const coordinator = await open(day.coordinator);
  await coordinator.goto(`${studio.baseUrl}/studio/${day.coordinator.id}`);
  await shown(coordinator, 'studio');
  for (const label of STUDIO_TABS) {
    const tab = coordinator.getByRole('tab', { name: label });
    await tab.click();
    await pollUntil(`studio tab ${label}`, WAIT_MS, async () => (await tab.getAttribute('aria-selected')) === 'true');
    // Each panel loads its data; wait until it no longer says it is loading.
    await pollUntil(`studio tab ${label} loaded`, WAIT_MS, async () => (await coordinator.locator('[role="tabpanel"]:visible [aria-busy="true"], [role="tabpanel"]:visible .loading').count()) === 0);
    await stop('coordinator', `studio-${label.toLowerCase().replace(/ /g, '-')}`, coordinator);
    if (label === 'Book a session') {
      // The form refused: every missing field says so.
      await coordinator.getByTestId('book-submit').click();
      await shown(coordinator, 'field-error');
      await stop('coordinator', 'studio-book-a-session-errors', coordinator);
    }
  }

  // Briefing.
  await dayControl(lead, 'Start the day', 'Yes, start the day', async () => (await dayPhase(lead)).kind === 'briefing');
  await waitForPhase(candidate, 'briefing');
  await shown(candidate, 'candidate-briefing');
  await stop('candidate', 'briefing', candidate);
  await shown(actor, 'actor-brief');
  await stop('actor', 'briefing', actor);
  await shown(observer, 'observer-guidance');
  await stop('observer', 'briefing', observer);
  await stop('lead', 'briefing', lead);

  // The call: candidate and actor see each other; observers watch both and score.
  await nextPhase(lead, 0);
  await pollUntil('candidate decodes the actor', WAIT_MS, async () => (await decoding(candidate)).includes(day.actor1.id));
  await stop('candidate', 'call', candidate);
  await pollUntil('actor decodes the candidate', WAIT_MS, async () => (await decoding(actor)).includes(day.candidate.id));
  await stop('actor', 'call', actor);
  await pollUntil('observer decodes both', WAIT_MS, async () => (await decoding(observer)).length >= 2);
  await shown(observer, 'submit-scenario');
  await stop('observer', 'call', observer);
  await pollUntil('lead decodes both', WAIT_MS, async () => (await decoding(lead)).length >= 2);
  await stop('lead', 'call', lead);

  // Written exercise.
  await nextPhase(lead, 1);
  await waitForPhase(candidate, 'writtenExercise');
  await shown(candidate, 'written-editor');
  await stop('candidate', 'written-exercise', candidate);
  await waitForPhase(actor, 'writtenExercise');
  await stop('actor', 'written-exercise', actor);
  await waitForPhase(observer, 'writtenExercise');
  await stop('observer', 'written-exercise', observer);

  // Reflective conversation: the lead observer is on stage with the candidate.
  // The lead checks their camera and microphone before going on stage.
  await nextPhase(lead, 2);
  await pollUntil('lead device check ready', WAIT_MS, () => lead.getByTestId('join-button').isEnabled().catch(() => false));
  await stop('lead', 'reflective-device-check', lead);
  await lead.getByTestId('join-button').click();
  await pollUntil('candidate decodes the lead', WAIT_MS, async () => (await decoding(candidate)).includes(day.lead.id));
  await stop('candidate', 'reflective-conversation', candidate);
  // The lead's page shows it is on stage (whether it decodes the candidate is the assessment-day
  // test's to check; a screenshot does not need it).
  await shown(lead, 'on-stage-banner');
  await stop('lead', 'reflective-conversation', lead);

  // End of day.
  await nextPhase(lead, 3);
  await shown(candidate, 'day-complete');
  await stop('candidate', 'end-of-day', candidate);
  await shown(actor, 'day-complete');
  await stop('actor', 'end-of-day', actor);
  await shown(lead, 'day-complete');
  await stop('lead', 'end-of-day', lead);
  await shown(observer, 'day-complete');
  await stop('observer', 'end-of-day', observer);

  // Another day, stopped early: the lead's form (a reason, a deliberate second step), then what
  // the candidate and the lead see.
  const stoppedDay = bookDay(studio, studio.templates.latest(TOUR_TEMPLATE.id)!.id, { title: 'Stopped day', actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
  const stoppedCandidate = await open(stoppedDay.candidate);
  await joinStage(stoppedCandidate, 'candidate');
  await shown(stoppedCandidate, 'waiting-room');
  const stoppingLead = await open(stoppedDay.lead);
  await stoppingLead.getByRole('button', { name: 'Start the day' }).waitFor({ timeout: WAIT_MS });
  await dayControl(stoppingLead, 'Start the day', 'Yes, start the day', async () => (await dayPhase(stoppingLead)).status === 'running');
  await stoppingLead.getByRole('button', { name: 'Stop the day…' }).click();
  await shown(stoppingLead, 'stop-form');
  await stop('lead', 'stop-form', stoppingLead);
  await stoppingLead.locator('#day-reason').fill('The candidate is unwell and cannot go on');
  await stoppingLead.getByTestId('stop-form').getByRole('button', { name: 'Stop the day' }).click();
  await shown(stoppingLead, 'day-stopped');
  await stop('lead', 'day-stopped', stoppingLead);
  await shown(stoppedCandidate, 'day-stopped');
  await stop('candidate', 'day-stopped', stoppedCandidate);
  await stoppedCandidate.context().close();
  await stoppingLead.context().close();

  // Recordings of the day's scenario.
  await pollUntil('recordings finished', WAIT_MS, async () => {
    const rows = studio.recordings.list(day.sessionId);
    return rows.length > 0 && rows.every((r) => r.status !== 'recording');
  });
  await lead.getByTestId('recordings-link-complete').click();
  await shown(lead, 'scenario-select');
  await stop('lead', 'playback', lead);

  // Moderation and the result, on a finished, scored demo day (server/demo-finished.ts).
  const finished = finishedDemoDay(studio);
  const moderator = await open(finished.one('moderator'));
  await moderator.goto(`${studio.baseUrl}/moderation/${finished.one('moderator').id}`);
  await shown(moderator, 'queue-row');
  await stop('moderator', 'moderation-queue', moderator);
  await moderator.goto(`${studio.baseUrl}/moderation/${finished.one('moderator').id}#session=${finished.sessionId}`);
  await shown(moderator, 'moderation-session');
  await stop('moderator', 'moderation-session', moderator);
  await moderator.locator('[data-testid="mark-row"][data-part="written"]').first().getByTestId('change-mark').click();
  await shown(moderator, 'mark-rationale');
  await stop('moderator', 'moderation-mark-editor', moderator);
  // A change without a rationale is refused with a message.
  await moderator.getByTestId('mark-rating').selectOption('2');
  await moderator.getByTestId('mark-save').click();
  await shown(moderator, 'mark-error');
  await stop('moderator', 'moderation-mark-error', moderator);

  const who = finished.one('moderator');
  for (const itemId of ['written-notes', 'written-risk', 'written-decisions']) {
    const marked = await callAs(studio, who, 'POST', `/moderation/sessions/${finished.sessionId}/marks`, {
      part: 'written', itemId, rating: 3, rationale: 'Clear, analytical and linked to the risks heard.', expected: null,
    });
    if (marked.status !== 200) throw new Error(`marking ${itemId}: ${marked.status}`);
  }
  const signed = await callAs(studio, who, 'POST', `/moderation/sessions/${finished.sessionId}/sign-off`, { outcome: { observation: 'pass', written: 'pass' } });
  if (signed.status !== 200) throw new Error(`sign-off: ${signed.status}`);
  // A finished day's candidate goes straight to the result, with no device check.
  const resultPage = await open(finished.one('candidate'));
  await pollUntil('result available', WAIT_MS, async () =>
    (await resultPage.getByTestId('result-notice').getAttribute('data-status').catch(() => null)) === 'available');
  await stop('candidate', 'result', resultPage);

  return { stops };
}
