// finished recordings (file + row) of its scenarios, as if recorded on the day.
import { writeSealedRecording } from './recording-files.ts';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModerationView } from '../../shared/moderation.ts';
import type { Studio } from '../../server/studio.ts';
import { callAs, type FinishedDay } from './moderation.ts';
// Calibration in tests: a finished demo day signed off (one scenario 1 mark moderated) and

/** Stores `bytes` as a finished recording of one participant in one scenario; its file's zero
 *  lies 250 ms into the phase. `n` makes the id; `status` as the recordings table has it. */
export function storedRecording(studio: Studio, sessionId: string, participantId: string, scenario: number, n: number, bytes: Buffer, status = 'complete'): { id: string; bytes: Buffer } {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const relative = path.join(sessionId, `${id}.webm`);
  // Encrypted at rest, as every finished recording is: the media routes decrypt it.
  writeSealedRecording(studio, path.join(studio.recordings.dir, relative), bytes);
  studio.db
    .prepare(
      `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, ended_at, bytes, sha256, duration_ms)
       VALUES (?, ?, ?, ?, ?, 1, 1000, ?, ?, 1250, 61000, ?, ?, 59750)`,
    )
    .run(id, sessionId, scenario * 2 - 1, String(scenario), participantId, relative, status, bytes.length, createHash('sha256').update(bytes).digest('hex'));
  return { id, bytes };
}

/** The moderator changes scenario 1's kss-2, marks the written exercise and signs off.
 *  Returns scenario 1's final marks (the reference a case of it gets) and the changed mark. */
export async function signOffDemoDay(studio: Studio, day: FinishedDay): Promise<{ reference: Record<string, number>; changedTo: number }> {
  const moderator = day.one('moderator');
  const path = `/moderation/sessions/${day.sessionId}`;
  const refuse = (what: string, status: number): never => {
    throw new Error(`${what}: ${status}`);
  };
  const before = (await callAs<ModerationView>(studio, moderator, 'GET', path)).body;
  const kss2 = before.rows.find((r) => r.part === 1 && r.itemId === 'kss-2')!;
  const changedTo = kss2.final === 4 ? 3 : 4;
  const changed = await callAs(studio, moderator, 'POST', `${path}/marks`, { part: 1, itemId: 'kss-2', rating: changedTo, rationale: 'The recording shows clear, warm communication.', expected: kss2.final });
  if (changed.status !== 200) refuse('changing kss-2', changed.status);
  for (const itemId of ['written-notes', 'written-risk', 'written-decisions']) {
    const marked = await callAs(studio, moderator, 'POST', `${path}/marks`, { part: 'written', itemId, rating: 3, rationale: 'Clear, analytical and linked to risk.', expected: null });
    if (marked.status !== 200) refuse(`marking ${itemId}`, marked.status);
  }
  const view = (await callAs<ModerationView>(studio, moderator, 'GET', path)).body;
  const outcome = Object.fromEntries(view.results.filter((r) => r.assessed).map((r) => [r.element, r.outcome]));
  const signed = await callAs<ModerationView>(studio, moderator, 'POST', `${path}/sign-off`, { outcome });
  if (signed.status !== 200) refuse('signing off', signed.status);
  return { reference: Object.fromEntries(signed.body.rows.filter((r) => r.part === 1).map((r) => [r.itemId, r.final!])), changedTo };
}
