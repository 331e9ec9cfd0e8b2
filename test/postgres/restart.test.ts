// A studio on PostgreSQL outlives a restart of the database server: what it had stored is
// there afterwards, the statements in flight fail (and say so), and the next ones connect again.
import { afterAll, expect, it } from 'vitest';
import { restartPostgres } from '../helpers/postgres.ts';
import { createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio | undefined;
afterAll(async () => studio?.close());

it('keeps serving across a restart of PostgreSQL, with nothing stored lost', async () => {
  studio = await startTestStudio();
  const before = createSession(studio);
  restartPostgres();
  // The connection the studio held is gone; the next statements open a new one.
  await expect.poll(async () => (await fetch(`${studio!.baseUrl}/api/health`)).status, { timeout: 20_000 }).toBe(200);
  const after = createSession(studio);
  expect(studio.sessions.getSession(before.sessionId)?.title).toBe('Open room');
  expect(studio.sessions.getSession(after.sessionId)?.title).toBe('Open room');
});
