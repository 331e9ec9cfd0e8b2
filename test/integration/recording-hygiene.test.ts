// Port and process hygiene: after many recorded scenarios, the recorder's ffmpeg processes,
// mediasoup transports (its taps) and loopback UDP ports are all back to where they started.
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { bookDay, testTemplate } from '../helpers/assessment.ts';
import { connectAs, joinAndProduceVideo, request, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { pollUntil } from '../helpers/browser.ts';

let studio: TestStudio;
const TEMPLATE = testTemplate('hygiene', 'Hygiene', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'hard' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);
const ROUNDS = 8;

beforeAll(async () => {
  studio = await startTestStudio();
});
afterAll(async () => {
  await studio.close();
});

/** ffmpeg processes whose parent is this test process (the in-process studio). */
function ffmpegChildren(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
        const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
        return comm === 'ffmpeg' && Number(rest?.split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** UDP sockets bound on 127.0.0.1 (the recorder's RTP/RTCP ports live there). */
function loopbackUdpSockets(): number {
  return fs
    .readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim().split(/\s+/)[1]?.startsWith('0100007F:')).length;
}

it(`${ROUNDS} recorded scenarios leave no ffmpeg, transport or port behind`, async () => {
  const template = studio.templates.saveNewVersion(TEMPLATE);
  const baseline = { ffmpeg: ffmpegChildren().length, udp: loopbackUdpSockets() };
  let maxDuring = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const day = bookDay(studio, template.id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
    const lead = await connectAs(studio, day.lead);
    const candidate = await connectAs(studio, day.candidate);
    const actor = await connectAs(studio, day.actor1);
    await joinAndProduceVideo(candidate, 100 + round * 2);
    await joinAndProduceVideo(actor, 101 + round * 2);
    await request(lead, 'dayControl', { action: 'start' });
    await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 });
    await pollUntil('two recorders', 10_000, async () => studio.recordings.pids(day.sessionId).length === 2);
    maxDuring = Math.max(maxDuring, ffmpegChildren().length);
    const room = await studio.rooms.get(day.sessionId);
    const during = ((await room!.mediaRouter.dump()) as { transportIds: string[] }).transportIds.length;
    await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 1 }); // reflective
    await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 2 }); // complete
    await pollUntil('recorders stopped', 10_000, async () => studio.recordings.pids(day.sessionId).length === 0);
    // Two send transports of the clients and one tap (a DirectTransport) per sending
    // participant, kept while the day runs; only the clients' remain after the day.
    expect(during).toBeGreaterThanOrEqual(4);
    expect(during).toBeLessThanOrEqual(4);
    await pollUntil('recorder transports closed', 10_000, async () =>
      ((await room!.mediaRouter.dump()) as { transportIds: string[] }).transportIds.length === 2,
    );
    expect((await request(candidate, 'join', { protocolVersion: PROTOCOL_VERSION })).ok).toBe(true);
    for (const s of [lead, candidate, actor]) s.disconnect();
  }
  expect(maxDuring).toBeGreaterThanOrEqual(baseline.ffmpeg + 2);
  await pollUntil('ffmpeg back to baseline', 10_000, async () => ffmpegChildren().length === baseline.ffmpeg);
  await pollUntil('UDP ports back to baseline', 10_000, async () => loopbackUdpSockets() <= baseline.udp);
}, 180_000);
