// Recording end to end in headless Chromium with fake media: a 20 s scenario is recorded on
// the server per on-stage participant; ffprobe finds audio and video, the duration is within
// 1 s of the scenario, and the first video frame decodes (the file starts on a keyframe).
// Killing ffmpeg mid-scenario: recording resumes within 3 s in a new segment, and the lead
// observer's page shows a warning. Only observers, moderators and coordinators may stream it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Template } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import { bookDay, type BookedDay } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pageErrors, pollUntil } from '../helpers/browser.ts';
import { signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { RawCollabClient, collabUrl } from '../helpers/collab-client.ts';
import { sheetDocName } from '../../shared/collab.ts';

let studio: TestStudio;
let browser: Browser;
let day: BookedDay;

const SCENARIO_SECONDS = 20;
const TEMPLATE: Omit<Template, 'version'> = {
  id: 'e2e-recording',
  name: 'Recording test',
  level: 'practitioner',
  practice: false,
  scenarioCount: 1,
  phases: [
    { kind: 'briefing', scenario: 1, durationSeconds: 4, timer: 'hard' },
    { kind: 'scenario', scenario: 1, durationSeconds: SCENARIO_SECONDS, timer: 'hard' },
    { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
  ],
};

function ffprobe(file: string): { streams: Array<{ codec_type: string; codec_name: string }>; duration: number } {
  const out = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const parsed = JSON.parse(out.stdout) as { streams: Array<{ codec_type: string; codec_name: string }>; format: { duration?: string } };
  return { streams: parsed.streams, duration: Number(parsed.format.duration ?? NaN) };
}

/** Decodes the first video frame; fails unless the file starts decodable (on a keyframe). */
function firstFrameDecodes(file: string): boolean {
  const run = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'], { encoding: 'utf8' });
  return run.status === 0 && run.stderr.trim() === '';
}

async function joinStage(who: Participant): Promise<Page> {
  const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, who));
  const join = page.getByTestId('join-button');
  await pollUntil(`${who.role} device check`, 20_000, () => join.isEnabled().catch(() => false));
  await join.click();
  return page;
}

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

describe('recording', () => {
  it('records the scenario playably, survives a killed ffmpeg, and streams only to observers', async () => {
    const lead = (await openInvite(browser, await studio.invites.link(studio.baseUrl, day.lead))).page;
    await joinStage(day.candidate);
    await joinStage(day.actor1);
    await lead.getByRole('button', { name: 'Start the day' }).click();

    // Scenario 1: both on stage, both recorded.
    await pollUntil('two segments recording', 30_000, async () => studio.recordings.pids(day.sessionId).length === 2);
    await pollUntil('recording indicator', 10_000, async () => (await lead.getByTestId('recording-status').textContent())?.includes('Recording') ?? false);

    // Kill one ffmpeg mid-scenario: a new segment within 3 s, and the lead observer was warned.
    await new Promise((r) => setTimeout(r, 6000));
    const [victim] = studio.recordings.pids(day.sessionId);
    const killedAt = Date.now();
    process.kill(victim!, 'SIGKILL');
    await pollUntil('lead observer warned', 5_000, async () => (await lead.getByTestId('recording-warning').count()) > 0);
    await pollUntil('recording resumed', 3_000, async () => {
      const pids = studio.recordings.pids(day.sessionId);
      return pids.length === 2 && !pids.includes(victim!);
    });
    expect(Date.now() - killedAt).toBeLessThan(3000);

    // The scenario ends by its timer; segments are finalised.
    const scenarioRows = () => studio.recordings.list(day.sessionId).filter((r) => r.scenarioKey === '1');
    await pollUntil('scenario over and finalised', 40_000, async () => {
      const rows = scenarioRows();
      return rows.length >= 3 && rows.every((r) => r.status !== 'recording' && r.sha256 !== null) && rows.some((r) => r.durationMs !== null);
    });
    const rows = scenarioRows();
    const byParticipant = (p: Participant) => rows.filter((r) => r.participantId === p.id && r.scenarioKey === '1');
    const killedOwner = rows.find((r) => r.status === 'interrupted');
    const recorderLog = studio.logLines.filter((l) => /segment|recorder|producer/i.test(String(l['msg'])));
    expect(killedOwner, `no interrupted segment: ${JSON.stringify(rows.map((r) => [r.participantId.slice(0, 8), r.segment, r.status, r.bytes]))}\n${JSON.stringify(recorderLog.slice(-30))}`).toBeDefined();

    // The participant whose recorder was never killed: one file covering the whole scenario.
    const steady = [day.candidate, day.actor1].find((p) => byParticipant(p).length === 1)!;
    const [whole] = byParticipant(steady);
    const file = studio.recordings.get(whole!.id)!.file;
    const probe = ffprobe(file);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:opus', 'video:vp8']);
    expect(Math.abs(probe.duration - SCENARIO_SECONDS)).toBeLessThan(1);
    expect(firstFrameDecodes(file)).toBe(true);
    expect(whole!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(whole!.bytes).toBe(fs.statSync(file).size);

    // The restarted participant's second segment is playable too.
    const second = rows.find((r) => r.participantId === killedOwner!.participantId && r.segment === 2)!;
    expect(firstFrameDecodes(studio.recordings.get(second.id)!.file)).toBe(true);

    // Streaming: observers with ranges; candidate and actor refused; path tricks refused.
    const get = async (who: Participant, path: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${studio.baseUrl}/api${path}?participantId=${who.id}`, { headers: { cookie: await signIn(studio, who), ...headers } });
    const ranged = await get(day.observer, `/recordings/${whole!.id}/media`, { range: 'bytes=0-99' });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
    expect((await get(day.observer, `/recordings/${whole!.id}/media`, { range: `bytes=${whole!.bytes! + 10}-` })).status).toBe(416);
    expect((await get(day.candidate, `/recordings/${whole!.id}/media`)).status).toBe(403);
    expect((await get(day.actor1, `/recordings/${whole!.id}/media`)).status).toBe(403);
    expect((await get(day.observer, `/recordings/..%2F..%2Fsimstudio.db/media`)).status).toBe(404);
    expect((await get(day.candidate, `/sessions/${day.sessionId}/recordings`)).status).toBe(403);
    const listing = (await (await get(day.lead, `/sessions/${day.sessionId}/recordings`)).json()) as { recordings: unknown[] };
    expect(listing.recordings.length).toBeGreaterThanOrEqual(rows.length);

    // Playback: an observer's evidence note (at 00:05 of scenario 1) seeks the videos there.
    const noter = new RawCollabClient(collabUrl(studio.baseUrl, sheetDocName(day.sessionId, day.observer.id, 1), day.observer.id), {
      cookie: await signIn(studio, day.observer),
    });
    await noter.synced;
    noter.ydoc.getMap('notes').set(`${day.observer.id}|n1`, { scenario: 1, atMs: 5000, domainId: 'kss-2', text: 'Open question about bruises.', createdAt: Date.now() });
    await expect.poll(() => noter.serverView.getMap('notes').size).toBe(1);
    noter.close();
    const { page: playback } = await openInvite(browser, await studio.invites.link(studio.baseUrl, day.observer));
    await playback.goto(`${studio.baseUrl}/playback/${day.observer.id}`);
    await playback.getByTestId('playback-page').waitFor({ timeout: 15_000 });
    await pollUntil('videos listed', 15_000, async () => (await playback.getByTestId('playback-video').count()) >= 2);
    const note = playback.getByTestId('playback-note').first();
    await note.waitFor({ timeout: 15_000 });
    expect(await note.getAttribute('data-at-ms')).toBe('5000');
    await note.click();
    await pollUntil('seeked to 00:05', 10_000, async () => ((await playback.getByTestId('playback-position').textContent()) ?? '').includes('00:05'));

    // Moderation: the note links to its moment in the recording, which opens there.
    const moderatorId = day.participants.find((p) => p.role === 'moderator')!;
    const { page: moderation, context } = await openInvite(browser, await studio.invites.link(studio.baseUrl, moderatorId));
    await moderation.goto(`${studio.baseUrl}/moderation/${moderatorId.id}#session=${day.sessionId}`);
    const link = moderation.getByTestId('note-link').first();
    await link.waitFor({ timeout: 15_000 });
    const [deepLinked] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await deepLinked.getByTestId('playback-page').waitFor({ timeout: 15_000 });
    await pollUntil('opened at 00:05', 15_000, async () => ((await deepLinked.getByTestId('playback-position').textContent()) ?? '').includes('00:05'));
  }, 180_000);
});
