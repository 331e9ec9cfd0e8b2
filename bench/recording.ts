// bench/recording.ts — run by hand: `npm run bench:recording -- --minutes 10 [--scenarios 2]`.
// (`-- --capacity --levels 1,4 --seconds 10 [--standby]` measures cost and capacity instead:
// bench/recording-capacity.ts.)
//
// Lip sync and timing over a long scenario, end to end: a studio, and per scenario a candidate
// and an actor in real Chromium whose camera and microphone carry the same marks (a flash and
// a beep every second; test/helpers/av-marks.ts), on stage together for --minutes while the
// server records them. For each recording it prints the file's length against the time on
// stage, its first frame against the phase start, what `ffmpeg -xerror` says, and the A/V
// offset the recording added to what the sender captured (median of 5 marks) at the start and
// at the end: their difference is the drift. ITU-R BT.1359: sound no more than 45 ms early or
// 125 ms late. Also the studio process's CPU and the recorders' ffmpeg CPU.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import type { Participant } from '../shared/domain.ts';
import { bookDay, testTemplate, type BookedDay } from '../test/helpers/assessment.ts';
import { BT1359, WATCH_SENDER_MARKS, checkRecording, makeMarkedMedia, medianAdded, senderMarks } from '../test/helpers/av-marks.ts';
import { launchBrowser, openInvite, pollUntil } from '../test/helpers/browser.ts';
import { startTestStudio } from '../test/helpers/studio.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    scenarios: { type: 'string', default: '2' },
    capacity: { type: 'boolean', default: false },
    levels: { type: 'string', default: '1,4,8,16' },
    seconds: { type: 'string', default: '15' },
    standby: { type: 'boolean', default: false },
  },
});

if (values.capacity) {
  await import('./recording-capacity.ts');
} else {
  await syncBench(Number(values.minutes), Number(values.scenarios));
}

async function syncBench(minutes: number, scenarios: number): Promise<void> {
  const media = makeMarkedMedia(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-bench-marks-')));
  const studio = await startTestStudio();
  const template = studio.templates.saveNewVersion(
    testTemplate('bench-recording', 'Recording benchmark', 1, [
      { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
      { kind: 'scenario', scenario: 1, durationSeconds: 3600, timer: 'soft' },
      { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
    ]),
  );
  const days: Array<{ day: BookedDay; pages: Map<string, Page> }> = [];
  const browsers = [];
  for (let i = 0; i < scenarios; i++) {
    // A browser per scenario (its two people share its fake camera, as two tabs would).
    const browser = await launchBrowser(media.args);
    browsers.push(browser);
    const day = bookDay(studio, template.id, { actors: [{ displayName: `Actor ${i + 1}`, scenarios: [1] }] });
    const pages = new Map<string, Page>();
    for (const who of [day.candidate, day.actor1]) {
      const { page } = await openInvite(browser, await studio.invites.link(studio.baseUrl, who), { initScript: WATCH_SENDER_MARKS, arg: 0 });
      const join = page.getByTestId('join-button');
      await pollUntil(`${who.role} device check`, 60_000, () => join.isEnabled().catch(() => false));
      await join.click();
      pages.set(who.id, page);
    }
    studio.assessment.control(day.lead, { action: 'start' });
    days.push({ day, pages });
  }
  const sending = async (d: BookedDay, p: Participant): Promise<boolean> => (await studio.rooms.get(d.sessionId))?.producersOf(p.id).size === 2;
  for (const { day } of days) await pollUntil('everyone sending', 60_000, async () => (await sending(day, day.candidate)) && (await sending(day, day.actor1)));
  // The briefing: everyone has sent for a while before the scenarios start, as on a real day.
  await new Promise((r) => setTimeout(r, 10_000));

  const cpu = (pid: number | 'self'): number => {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  };
  const started = days.map(({ day }) => studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 0 }).phaseStartedAt!);
  const cpuStart = cpu('self');
  const ffmpegCpu = new Map<number, number>();
  const sample = (): void => {
    for (const { day } of days) for (const pid of studio.recordings.pids(day.sessionId)) ffmpegCpu.set(pid, Math.max(ffmpegCpu.get(pid) ?? 0, cpu(pid)));
  };
  const sampler = setInterval(sample, 5000);
  const t0 = Date.now();
  process.stdout.write(`recording ${scenarios} scenario(s) of ${minutes} min…\n`);
  await new Promise((r) => setTimeout(r, Math.max(...started) + minutes * 60_000 - Date.now()));
  sample();
  clearInterval(sampler);
  const elapsed = (Date.now() - t0) / 1000;
  const studioCpu = ((cpu('self') - cpuStart) / elapsed) * 100;
  const recorderCpu = ([...ffmpegCpu.values()].reduce((a, b) => a + b, 0) / elapsed) * 100;
  const ended = days.map(({ day }) => studio.assessment.control(day.lead, { action: 'advance', fromPhaseIndex: 1 }).phaseStartedAt!);

  const rows = (d: BookedDay) => studio.recordings.list(d.sessionId).filter((r) => r.scenarioKey === '1');
  for (const { day } of days) await pollUntil('recordings finalised', 300_000, async () => rows(day).length >= 2 && rows(day).every((r) => r.sha256 !== null && r.durationMs !== null));

  const col = (text: string | number, width: number): string => String(text).padStart(width);
  process.stdout.write(
    `\n${scenarios} scenario(s) × 2 people, ${minutes} min on stage, real Chromium senders (marked fake camera and microphone), ${os.cpus().length} cores\n` +
      `studio process CPU ${studioCpu.toFixed(1)} % (taps, timelines, WebM streams, signalling), recorder ffmpegs ${recorderCpu.toFixed(1)} % (sum)\n\n` +
      `${'recording'.padEnd(22)}${col('timing', 15)}${col('stage ms', 10)}${col('file ms', 10)}${col('1st frame ms', 14)}${col('-xerror', 9)}${col('marks', 7)}` +
      `${col('added start', 13)}${col('added end', 11)}${col('drift', 7)}${col('file start', 12)}${col('file end', 10)}${col('sender start', 14)}${col('sender end', 12)}\n`,
  );
  let worst = 0;
  let allIn = true;
  for (const [i, { day, pages }] of days.entries()) {
    const stageMs = ended[i]! - started[i]!;
    for (const who of [day.candidate, day.actor1]) {
      const segments = rows(day).filter((r) => r.participantId === who.id);
      for (const row of segments) {
        const check = checkRecording(studio.recordings.get(row.id)!.file, row.startedAt, started[i]!, await senderMarks(pages.get(who.id)!));
        const head = check.marks.slice(0, 5);
        const tail = check.marks.slice(-5);
        const start = medianAdded(head);
        const end = medianAdded(tail);
        const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? Number.NaN;
        for (const v of [start, end]) {
          worst = Math.max(worst, Math.abs(v));
          if (!(v >= BT1359.earliestMs && v <= BT1359.latestMs)) allIn = false;
        }
        process.stdout.write(
          `${`scenario ${i + 1} ${who.role}${segments.length > 1 ? ` #${row.segment}` : ''}`.padEnd(22)}${col(row.timing ?? '-', 15)}${col(stageMs, 10)}${col(row.durationMs ?? '-', 10)}` +
            `${col(check.firstVideoMs.toFixed(0), 14)}${col(check.complaints ? 'ERRORS' : 'clean', 9)}${col(check.marks.length, 7)}${col(start, 13)}${col(end, 11)}${col(end - start, 7)}` +
            `${col(median(head.map((m) => m.fileMs)), 12)}${col(median(tail.map((m) => m.fileMs)), 10)}${col(median(head.map((m) => m.senderMs)), 14)}${col(median(tail.map((m) => m.senderMs)), 12)}\n`,
        );
        if (check.complaints) process.stdout.write(`  ffmpeg: ${check.complaints.split('\n').slice(0, 3).join(' | ')}\n`);
      }
    }
  }
  process.stdout.write(
    `\nadded: ms the recording moved the sound against the picture (+ = later), median of the first and last 5 marks; drift = end − start; file/sender: raw offsets.\n` +
      `within BT.1359 (−45…+125 ms) at the start and the end of every recording: ${allIn ? 'yes' : 'NO'} (largest |added| ${worst} ms)\n`,
  );
  for (const b of browsers) await b.close();
  await studio.close();
  process.exit(allIn ? 0 : 1);
}
