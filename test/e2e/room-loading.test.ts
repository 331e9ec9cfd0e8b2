// What the room page loads on the way to a watcher's first picture, end to end in headless
// Chromium against the real server (issue 12's join time). The scripts the room page names up
// front (its entry and modulepreloads) carry no zod: shared/ keeps its schemas in *-schemas.ts
// modules the room does not import, and zod arrives with the observer's scoring panel once the
// call has joined. zod still works there (an evidence note is checked with it before it is
// written), and the page's Content-Security-Policy (no 'unsafe-eval') is never violated: the
// browser build's zod is switched to its eval-free mode before any schema exists
// (client/lib/zod-browser.ts).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { sheetDocName } from '../../shared/collab.ts';
import { bookDayInScenarioOne, type BookedDay } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pageErrors } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

/** A string zod's own code holds (its global configuration's key), whatever the minifier does. */
const ZOD_MARK = '__zod_globalConfig';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;

/** Records every Content-Security-Policy violation the page reports. */
const RECORD_CSP_VIOLATIONS = () => {
  const w = window as unknown as { __csp: string[] };
  w.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
};

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = bookDayInScenarioOne(studio, 600);
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

/** The text of each of these same-origin scripts, as the server serves it. */
async function scriptTexts(page: Page, urls: string[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const url of urls) {
    const response = await page.request.get(url);
    expect(response.status(), url).toBe(200);
    texts.set(new URL(url).pathname, await response.text());
  }
  return texts;
}

it("the room's own scripts carry no zod; the scoring panel brings it, checks a note with it, and the CSP holds", async () => {
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.observer), { initScript: RECORD_CSP_VIOLATIONS, arg: 0 });
  await page.getByTestId('note-input').first().waitFor({ timeout: 20_000 });

  // The page as the server sent it (later, Vite's loader adds preload links of its own for
  // what the page imports on the way, the scoring panel's among them).
  const html = await (await page.request.get(page.url())).text();
  const named = [...html.matchAll(/<script type="module"[^>]* src="([^"]+)"|<link rel="modulepreload"[^>]* href="([^"]+)"/g)].map(
    (m) => new URL((m[1] ?? m[2])!, page.url()).href,
  );
  // The entry and the room's flow, media and components: the page names them all up front.
  expect(named.length).toBeGreaterThan(5);
  const namedTexts = await scriptTexts(page, named);
  const withZod = [...namedTexts].filter(([, text]) => text.includes(ZOD_MARK)).map(([path]) => path);
  expect(withZod).toEqual([]);

  // By now the scoring panel is on screen, and zod with it: among the scripts the page loaded.
  const loaded = await page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .map((e) => e.name)
      .filter((name) => new URL(name).origin === location.origin && new URL(name).pathname.endsWith('.js')),
  );
  const loadedTexts = await scriptTexts(page, loaded);
  expect([...loadedTexts.values()].some((text) => text.includes(ZOD_MARK))).toBe(true);

  // A note goes through the panel's check (EvidenceNoteSchema) and reaches the server.
  await page.getByTestId('note-input').first().fill('Named the worry about school attendance plainly.');
  await page.getByTestId('note-input').first().press('Enter');
  const notes = () =>
    Object.values(studio.collab.doc(sheetDocName(day.sessionId, day.observer.id, 1))?.getMap('notes').toJSON() ?? {}) as Array<{ text: string }>;
  await expect.poll(() => notes().some((n) => n.text.includes('school attendance')), { timeout: 20_000 }).toBe(true);

  expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
});
