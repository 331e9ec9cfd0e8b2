// Accessibility (issue 12): axe-core finds no WCAG 2.2 AA violation on any page state an
// assessment day reaches, for any role, at a desktop (1280×800) and a phone (390×844) size.
// The tour (test/helpers/tour.ts) drives a real day; at each state axe runs at both sizes
// and the test fails listing every violation with its rule, target and state.
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import type { Browser } from 'playwright-core';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, pageErrors } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { runTour, TOUR_VIEWPORT } from '../helpers/tour.ts';

const VIEWPORTS = [TOUR_VIEWPORT, { width: 390, height: 844 }];

let studio: TestStudio;
let browser: Browser;

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

it('every page state of every role has no WCAG 2.2 AA violation at 1280×800 and 390×844', async () => {
  const steps: string[] = [];
  const startedAt = Date.now();
  onTestFailed(() => void process.stderr.write(`[a11y] tour steps reached:\n  ${steps.join('\n  ')}\n`));
  const found: string[] = [];
  const checked: string[] = [];

  const { stops } = await runTour({
    studio,
    browser,
    onStep: (what) => steps.push(`${((Date.now() - startedAt) / 1000).toFixed(1)} s  ${what}`),
    visit: async ({ role, state, page }) => {
      for (const size of VIEWPORTS) {
        await page.setViewportSize(size);
        const where = `${role} ${state} ${size.width}x${size.height}`;
        for (const v of await axeViolations(page)) {
          found.push(`${where}: ${v.rule} (${v.impact}) ${v.help}\n      ${v.targets.join('\n      ')}`);
        }
        checked.push(where);
      }
      await page.setViewportSize(TOUR_VIEWPORT);
    },
  });

  // The tour reached every state the issue lists, so "no violations" covers them all.
  const states = new Set(stops.map((s) => `${s.role} ${s.state}`));
  for (const required of [
    'candidate device-check', 'candidate waiting-room', 'candidate briefing', 'candidate call', 'candidate written-exercise',
    'candidate reflective-conversation', 'candidate end-of-day', 'candidate result', 'actor call', 'observer call',
    'lead call', 'lead reflective-conversation', 'coordinator studio-live-board', 'coordinator studio-book-a-session',
    'coordinator studio-scenario-bank', 'coordinator studio-templates', 'coordinator studio-results',
    'coordinator studio-book-a-session-errors', 'moderator moderation-queue', 'moderator moderation-session',
    'moderator moderation-mark-error', 'lead playback', 'observer end-of-day', 'lead reflective-device-check',
    'lead stop-form', 'lead day-stopped', 'candidate day-stopped',
  ]) {
    expect(states, `tour reached ${required}`).toContain(required);
  }
  expect(checked).toHaveLength(stops.length * VIEWPORTS.length);
  expect(found.length, `axe violations:\n  ${found.join('\n  ')}`).toBe(0);
}, 600_000);
