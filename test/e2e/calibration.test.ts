// Observer calibration in headless Chromium: a coordinator confirms both consents and makes a
// case of a recorded scenario of a signed-off session; an observer of another session opens
// the calibration page, plays the case's recordings (real VP8 WebM files, decoded), rates every
// domain and the global judgement, submits, and sees their differences from the reference;
// axe finds nothing at WCAG 2.2 AA in making a case, the rating form or the result.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Participant } from '../../shared/domain.ts';
import { demoBooking } from '../../server/demo.ts';
import { axeViolations } from '../helpers/axe.ts';
import { signOffDemoDay, storedRecording } from '../helpers/calibration.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { finishedDemoDay, type FinishedDay } from '../helpers/moderation.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let day: FinishedDay;
let outsider: Participant;
let reference: Record<string, number>;

/** A 4-second 320×240 VP8 WebM (ffmpeg's test pattern). */
function testWebm(): Buffer {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-calibration-')), 'clip.webm');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '4', '-c:v', 'libvpx', '-b:v', '300k', '-an', file]);
  return fs.readFileSync(file);
}

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = finishedDemoDay(studio, { candidate: { displayName: 'Sam Carter', candidateRef: 'REG-8001' } });
  const clip = testWebm();
  storedRecording(studio, day.sessionId, day.one('candidate').id, 1, 1, clip);
  storedRecording(studio, day.sessionId, day.one('actor').id, 1, 2, clip);
  ({ reference } = await signOffDemoDay(studio, day));
  const { participants } = studio.assessment.book({ ...demoBooking(), candidate: { displayName: 'Kim Other', candidateRef: 'other-1' }, leadObserver: { displayName: 'Ana Lead' }, observers: [] });
  outsider = participants.find((p) => p.role === 'leadObserver')!;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

it('a coordinator makes a case; an observer of another session watches it, rates, submits and sees the differences', async () => {
  const coordinator = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.one('coordinator')));
  await coordinator.page.goto(`${studio.baseUrl}/studio/${day.one('coordinator').id}#results`);
  await coordinator.page.getByTestId('studio-calibration-link').click();
  const source = coordinator.page.getByTestId('calibration-source').first();
  const make = source.getByRole('button', { name: 'Make a calibration case' });
  await make.waitFor();
  expect(await make.isDisabled()).toBe(true);
  await source.getByLabel(/candidate consented/).check();
  await source.getByLabel(/actor consented/).check();
  expect(await axeViolations(coordinator.page), 'axe: making a case').toEqual([]);
  await make.click();
  await coordinator.page.getByRole('status').filter({ hasText: 'is now a calibration case' }).waitFor();
  const [stored] = studio.calibration.list(day.one('coordinator'));
  expect(stored).toBeDefined();
  await coordinator.context.close();

  const observer = await openInvite(browser, await studio.invites.link(studio.baseUrl, outsider));
  const page = observer.page;
  await page.goto(`${studio.baseUrl}/calibration/${outsider.id}`);
  await page.getByTestId('calibration-open').click();
  const videos = page.getByTestId('calibration-video');
  await pollUntil('both recordings listed', 10_000, async () => (await videos.count()) === 2);
  await page.getByRole('button', { name: 'Play together' }).click();
  // Both videos decode and play: frames of the test pattern, time moving on.
  await pollUntil('videos playing', 20_000, async () => {
    const facts = await videos.evaluateAll((els) => (els as HTMLVideoElement[]).map((v) => ({ w: v.videoWidth, t: v.currentTime })));
    return facts.every((f) => f.w === 320 && f.t > 0.5);
  });
  expect(await page.content()).not.toContain('Sam Carter');

  const submit = page.getByTestId('calibration-submit');
  expect(await submit.isDisabled()).toBe(true);
  // One point above the reference everywhere it can be (a pass), and a 5 overall.
  const mine = Object.fromEntries(Object.entries(reference).map(([id, r]) => [id, r === 4 ? 3 : r + 1]));
  for (const [id, rating] of Object.entries(mine)) await page.getByTestId(`calibration-rate-${id}-${rating}`).check();
  await page.getByTestId('calibration-global-5').check();
  await submit.click();
  expect(await axeViolations(page), 'axe: the rating form').toEqual([]);
  await page.getByTestId('calibration-confirm').click();

  await page.getByTestId('calibration-result').waitFor();
  expect(await page.getByTestId('calibration-outcome').innerText()).toMatch(/^Passed: every domain within 1 point of the reference\. Nobody else has scored this case yet\./);
  for (const [id, rating] of Object.entries(mine)) {
    const diff = rating - reference[id]!;
    expect(await page.getByTestId(`calibration-diff-${id}`).innerText()).toBe(diff > 0 ? `+${diff}` : `−${-diff}`);
  }
  expect(await axeViolations(page), 'axe: the result').toEqual([]);
  const attempt = studio.db.prepare('SELECT observer_name, global, passed FROM calibration_attempts').all();
  expect(attempt).toEqual([{ observer_name: 'Ana Lead', global: 5, passed: 1 }]);
  await observer.context.close();
});
