// Evidence-grade recording (issue 17): a 60 s scenario recorded from real Chromium senders
// whose camera and microphone carry the same marks (a flash and a beep at every whole second).
// Each on-stage participant's file lasts the time on stage (± 0.3 s), begins within 300 ms of
// the phase start, decodes with `ffmpeg -xerror` without a word, and its sound is in step with
// its picture within ITU-R BT.1359 (no more than 45 ms early or 125 ms late) at the start and
// at the end of the scenario.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Participant } from '../../shared/domain.ts';
import type { RecordingRow } from '../../shared/api.ts';
import { bookDay, testTemplate, type BookedDay } from '../helpers/assessment.ts';
import { BT1359, WATCH_SENDER_MARKS, checkRecording, makeMarkedMedia, medianAdded, senderMarks, type MarkOffset } from '../helpers/av-marks.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { plaintextCopy } from '../helpers/recording-files.ts';

const SCENARIO_S = Number(process.env.SYNC_SECONDS ?? 60);
const TEMPLATE = testTemplate('e2e-recording-sync', 'Recording sync test', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

let studio: TestStudio;
/** A browser per participant, as on a real day (each has its own camera and microphone). */
const browsers: Browser[] = [];
let day: BookedDay;
const media = makeMarkedMedia(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-marks-')));

beforeAll(async () => {
  studio = await startTestStudio();
  browsers.push(await launchBrowser(media.args), await launchBrowser(media.args));
  day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

async function joinStage(who: Participant, browser: Browser): Promise<Page> {
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, who), { initScript: WATCH_SENDER_MARKS, arg: 0 });
  const join = page.getByTestId('join-button');
  await pollUntil(`${who.role} device check`, 30_000, () => join.isEnabled().catch(() => false));
  await join.click();
  return page;
}

it(`records a ${SCENARIO_S} s scenario whole, from its first moment, in lip sync`, async () => {
  const pages = new Map([
    [day.candidate.id, await joinStage(day.candidate, browsers[0]!)],
    [day.actor1.id, await joinStage(day.actor1, browsers[1]!)],
  ]);
  // Both send before the scenario, as on a real day (the briefing): the recorder's taps hold
  // the seconds before the stage opens.
  studio.assessment.control(day.lead, { action: 'start' });
  const producing = async (p: Participant): Promise<boolean> => (await studio.rooms.get(day.sessionId))?.producersOf(p.id).size === 2;
  await pollUntil('candidate and actor sending', 30_000, async () => (await producing(day.candidate)) && (await producing(day.actor1)));
  await new Promise((r) => setTimeout(r, 3000));

  const scenario = studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 0 });
  const phaseStartedAt = scenario.phaseStartedAt!;
  const rows = (): RecordingRow[] => studio.recordings.list(day.sessionId).filter((r) => r.scenarioKey === '1');
  await pollUntil('both recording', 15_000, async () => rows().length === 2);
  // The scenario runs its length: the recording is what is measured, not a race with it.
  await new Promise((r) => setTimeout(r, phaseStartedAt + SCENARIO_S * 1000 - Date.now()));
  const after = studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 1 });
  const stageMs = after.phaseStartedAt! - phaseStartedAt;
  await pollUntil('recordings finalised', 60_000, async () => rows().length === 2 && rows().every((r) => r.sha256 !== null && r.durationMs !== null));

  for (const who of [day.candidate, day.actor1]) {
    const segments = rows().filter((r) => r.participantId === who.id);
    expect(segments, who.role).toHaveLength(1);
    const row = segments[0]!;
    const check = checkRecording(await plaintextCopy(studio, studio.recordings.get(row.id)!.file), row.startedAt, phaseStartedAt, await senderMarks(pages.get(who.id)!));
    const head = check.marks.slice(0, 5);
    const tail = check.marks.slice(-5);
    const show = (list: MarkOffset[]): string => list.map((p) => `${p.addedMs} (file ${p.fileMs}, sender ${p.senderMs})`).join(', ');
    process.stdout.write(
      `[recording sync] ${who.role}: on stage ${stageMs} ms, file ${row.durationMs} ms (timing ${row.timing}); first video frame ${check.firstVideoMs.toFixed(0)} ms, ` +
        `first audio ${check.firstAudioMs.toFixed(0)} ms after the phase start; A/V offset added by the recording (ms, + = sound later): ` +
        `start ${show(head)}; end ${show(tail)}; ${check.marks.length} of ${check.fileMarks} marks matched\n`,
    );
    expect(Math.abs(row.durationMs! - stageMs), `${who.role} file length against time on stage`).toBeLessThanOrEqual(300);
    expect(Math.abs(check.firstVideoMs), `${who.role} first video frame after the phase start`).toBeLessThanOrEqual(300);
    // A silent microphone sends a packet every 400 ms (Opus DTX): the first may come that late.
    expect(Math.abs(check.firstAudioMs), `${who.role} first audio after the phase start`).toBeLessThanOrEqual(450);
    expect(check.complaints, who.role).toBe('');
    expect(row.timing).toBe('sender-report');
    expect(row.senderStartedAt).not.toBeNull();
    // Nearly every second's mark is found, and matched with the sender's.
    expect(check.marks.length, `${who.role} marks matched`).toBeGreaterThanOrEqual(SCENARIO_S - 4);
    expect(head[0]!.atS, 'the first mark is near the start').toBeLessThan(3.5);
    expect(tail.at(-1)!.atS, 'the last mark is near the end').toBeGreaterThan(stageMs / 1000 - 3.5);
    // The median of five marks: the sender's own measure can miss a flash frame (33 ms).
    for (const [when, marks] of [['start', head], ['end', tail]] as const) {
      expect(medianAdded(marks), `${who.role} A/V offset at the ${when}`).toBeGreaterThanOrEqual(BT1359.earliestMs);
      expect(medianAdded(marks), `${who.role} A/V offset at the ${when}`).toBeLessThanOrEqual(BT1359.latestMs);
    }
  }
}, 240_000);
