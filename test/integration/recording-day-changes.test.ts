// Day changes reach the recorder one after another. The lead starts the day and moves straight
// into the first scenario; the start is still being handled (its room being made, slow on a
// loaded machine) when the move arrives. Handled side by side, the start's late finish stopped
// the scenario's recorders a moment after they began: a scenario with no recording.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordingStatus } from '../../shared/protocol.ts';
import { bookDay, testTemplate } from '../helpers/assessment.ts';
import { connectAs, joinAndProduceVideo, request, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { pollUntil } from '../helpers/browser.ts';

const TEMPLATE = testTemplate('day-changes', 'Day changes', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
]);
/** How long the first room request is held back: the start's handling is still under way when the move arrives. */
const SLOW_ROOM_MS = 800;

let studio: TestStudio;
beforeAll(async () => {
  studio = await startTestStudio();
});
afterAll(async () => {
  await studio.close();
});

it('keeps recording a scenario the lead moved into while the start of the day was still being handled', async () => {
  const template = studio.templates.saveNewVersion(TEMPLATE);
  const day = bookDay(studio, template.id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const lead = await connectAs(studio, day.lead);
  const candidate = await connectAs(studio, day.candidate);
  const actor = await connectAs(studio, day.actor1);
  await joinAndProduceVideo(candidate, 300);
  await joinAndProduceVideo(actor, 301);

  const statuses: RecordingStatus[] = [];
  studio.recordings.on('status', (sessionId: string, status: RecordingStatus) => {
    if (sessionId === day.sessionId) statuses.push(status);
  });
  // The room exists already (the clients joined it); only its first request from here is slow.
  const getOrCreate = studio.rooms.getOrCreate.bind(studio.rooms);
  let slowDone = false;
  let first = true;
  studio.rooms.getOrCreate = async (sessionId: string) => {
    if (!first || sessionId !== day.sessionId) return getOrCreate(sessionId);
    first = false;
    await new Promise((resolve) => setTimeout(resolve, SLOW_ROOM_MS));
    slowDone = true;
    return getOrCreate(sessionId);
  };

  expect((await request(lead, 'dayControl', { action: 'start' })).ok).toBe(true);
  expect((await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 })).ok).toBe(true);
  expect(slowDone).toBe(false);
  await pollUntil('both people recorded in scenario 1', 20_000, async () => studio.recordings.pids(day.sessionId).length === 2);
  expect(slowDone).toBe(true);
  // Longer than a segment's cut takes (the wait for late frames, then ffmpeg's exit).
  await new Promise((resolve) => setTimeout(resolve, 3000));

  expect(studio.recordings.pids(day.sessionId)).toHaveLength(2);
  expect(studio.recordings.status(day.sessionId)).toMatchObject({ state: 'recording', phaseIndex: 1 });
  expect(statuses.filter((s) => s.state === 'stopped')).toEqual([]);
  // One segment per person, still being written.
  const rows = studio.recordings.list(day.sessionId);
  expect(rows.map((r) => [r.participantId, r.status]).sort()).toEqual(
    [
      [day.candidate.id, 'recording'],
      [day.actor1.id, 'recording'],
    ].sort(),
  );
  for (const s of [lead, candidate, actor]) s.disconnect();
}, 60_000);

it('ends the scenario’s recording when the day is stopped early, and completes its segments', async () => {
  const template = studio.templates.latest('day-changes') ?? studio.templates.saveNewVersion(TEMPLATE);
  const day = bookDay(studio, template.id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const lead = await connectAs(studio, day.lead);
  const candidate = await connectAs(studio, day.candidate);
  const actor = await connectAs(studio, day.actor1);
  await joinAndProduceVideo(candidate, 310);
  await joinAndProduceVideo(actor, 311);
  expect((await request(lead, 'dayControl', { action: 'start' })).ok).toBe(true);
  expect((await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 })).ok).toBe(true);
  await pollUntil('both people recorded in scenario 1', 20_000, async () => studio.recordings.pids(day.sessionId).length === 2);

  expect((await request(lead, 'dayControl', { action: 'stop', reason: 'The candidate is unwell' })).ok).toBe(true);
  await pollUntil('the recorders ended', 20_000, async () => studio.recordings.pids(day.sessionId).length === 0);
  await pollUntil('both segments completed', 20_000, async () => studio.recordings.list(day.sessionId).every((r) => r.status === 'complete'));
  const rows = studio.recordings.list(day.sessionId);
  expect(rows.map((r) => r.participantId).sort()).toEqual([day.candidate.id, day.actor1.id].sort());
  // (These senders send no packets: what a segment holds is tested with real media elsewhere.)
  for (const r of rows) {
    expect(r.bytes).not.toBeNull();
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.endedAt).not.toBeNull();
  }
  expect(studio.recordings.status(day.sessionId)).toMatchObject({ state: 'stopped', phaseIndex: 1 });
  for (const s of [lead, candidate, actor]) s.disconnect();
}, 60_000);
