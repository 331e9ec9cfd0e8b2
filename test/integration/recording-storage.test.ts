// Recording storage rules: a nearly full disk stops new recordings loudly and leaves existing
// ones untouched; recordings past the retention period are deleted, and the deletion logged.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Template } from '../../shared/assessment.ts';
import { bookDay } from '../helpers/assessment.ts';
import { pollUntil } from '../helpers/browser.ts';
import { connectAs, joinAndProduceVideo, request, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio | undefined;
afterEach(async () => {
  await studio?.close();
  studio = undefined;
});

const TEMPLATE: Omit<Template, 'version'> = {
  id: 'storage',
  name: 'Storage',
  level: 'practitioner',
  practice: false,
  scenarioCount: 1,
  phases: [
    { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'hard' },
    { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'hard' },
  ],
};

/** Puts an already finished recording (file + row) in place, as if recorded earlier. */
function existingRecording(s: TestStudio, sessionId: string, participantId: string, endedAt: number): { id: string; file: string; sha256: string } {
  const id = '00000000-0000-4000-8000-000000000001';
  const relative = path.join(sessionId, `${id}.webm`);
  const file = path.join(s.recordings.dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'earlier evidence');
  const sha256 = createHash('sha256').update('earlier evidence').digest('hex');
  s.db
    .prepare(
      `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, ended_at, bytes, sha256)
       VALUES (?, ?, 1, '1', ?, 1, ?, ?, 'complete', ?, ?, 16, ?)`,
    )
    .run(id, sessionId, participantId, endedAt - 60_000, relative, endedAt - 60_000, endedAt, sha256);
  return { id, file, sha256 };
}

it('a nearly full disk stops new recordings with a loud warning and leaves existing ones intact', async () => {
  studio = await startTestStudio({ recording: { minFreeBytes: Number.MAX_SAFE_INTEGER, retentionDays: 365 } });
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const earlier = existingRecording(studio, day.sessionId, day.candidate.id, Date.now());
  const lead = await connectAs(studio, day.lead);
  const candidate = await connectAs(studio, day.candidate);
  const recordingEvents: Array<{ state: string; detail: string }> = [];
  lead.on('recording', (s) => recordingEvents.push(s));
  await joinAndProduceVideo(candidate, 4242);
  await request(lead, 'dayControl', { action: 'start' });
  await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 0 });
  await pollUntil('failure announced', 5000, async () => recordingEvents.some((e) => e.state === 'failed'));
  expect(recordingEvents.find((e) => e.state === 'failed')?.detail).toMatch(/disk is nearly full/);
  expect(studio.recordings.pids(day.sessionId)).toEqual([]);
  expect(studio.logLines.some((l) => l.level === 50 && String(l.msg).includes('DISK NEARLY FULL'))).toBe(true);
  expect(studio.recordings.list(day.sessionId).map((r) => r.id)).toEqual([earlier.id]);
  expect(createHash('sha256').update(fs.readFileSync(earlier.file)).digest('hex')).toBe(earlier.sha256);
  lead.disconnect();
  candidate.disconnect();
});

it('recordings past the retention period are deleted at start-up, and the deletion is logged and audited', async () => {
  studio = await startTestStudio({ recording: { minFreeBytes: 0, retentionDays: 30 } });
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada', scenarios: [1] }] });
  const old = existingRecording(studio, day.sessionId, day.candidate.id, Date.now() - 31 * 86_400_000);
  const dataDir = studio.dataDir;
  await studio.close();
  studio = await startTestStudio({ recording: { minFreeBytes: 0, retentionDays: 30 } }, dataDir);
  expect(fs.existsSync(old.file)).toBe(false);
  expect(studio.recordings.get(old.id)?.status).toBe('deleted');
  expect(studio.audit.list(day.sessionId).find((e) => e.action === 'recording.deleted')?.detail).toMatchObject({ id: old.id });
  expect(studio.logLines.some((l) => l.msg === 'recording deleted by retention' && l.id === old.id)).toBe(true);
});
