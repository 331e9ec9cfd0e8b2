// Anyone can fail to sign in without signing in: 300 requests for made-up email sign-in links and
// 100 for made-up invite links used to write 300 append-only audit rows and 400 log lines. Now the
// audit keeps 100 of them a minute in full and one row with the count of the rest; the log 20
// lines and a count.
import crypto from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';

let studio: TestStudio | undefined;
afterAll(async () => {
  await studio?.close();
});

it('bounds the audit rows and log lines that failed sign-ins write, and keeps their count', async () => {
  studio = await startTestStudio();
  const { baseUrl, dataDir } = studio;
  const token = (): string => crypto.randomBytes(32).toString('base64url');
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${baseUrl}/auth/magic/${token()}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
  }
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${baseUrl}/join/${token()}`, { redirect: 'manual' });
    expect(res.status).toBe(401);
  }
  const failed = (): number => (studio!.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'signin.failed'").get() as { n: number }).n;
  expect(failed()).toBe(100);
  const refusedLines = studio.logLines.filter((l) => l.msg === 'magic link refused' || l.msg === 'invite link refused');
  expect(refusedLines.length).toBe(20);

  // Closing writes the count of what the minute left out.
  await studio.close();
  studio = undefined;
  const db = connectToStudioDatabase(dataDir, { readOnly: true });
  try {
    const rows = db.prepare("SELECT detail FROM audit_log WHERE action = 'signin.failed.suppressed'").all() as Array<{ detail: string }>;
    expect(rows.map((r) => JSON.parse(r.detail) as { count: number })).toMatchObject([{ count: 200 }]);
  } finally {
    db.close();
  }
});
