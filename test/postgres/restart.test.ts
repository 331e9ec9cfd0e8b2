// A studio on PostgreSQL outlives a restart of the database server: what it had stored is
// there afterwards, and the next statements connect again. The studio has a cluster of its
// own here, so that the restart touches no other test's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, expect, it } from 'vitest';
import { PostgresDatabase } from '../../server/db/postgres/postgres-database.ts';
import { startPostgresForStudios, testDatabaseUrl, type PostgresCluster } from '../helpers/postgres.ts';
import { createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio | undefined;
let cluster: PostgresCluster | undefined;
afterAll(async () => {
  await studio?.close();
  cluster?.stop();
});

it('keeps serving across a restart of PostgreSQL, with nothing stored lost', { timeout: 180_000 }, async () => {
  cluster = startPostgresForStudios();
  studio = await startTestStudio({ databaseUrl: cluster.url('simstudio_template') });
  const before = createSession(studio);
  cluster.restart();
  // The connection the studio held is gone; the next statements open a new one.
  await expect.poll(async () => (await fetch(`${studio!.baseUrl}/api/health`)).status, { timeout: 60_000 }).toBe(200);
  const after = createSession(studio);
  expect(studio.sessions.getSession(before.sessionId)?.title).toBe('Open room');
  expect(studio.sessions.getSession(after.sessionId)?.title).toBe('Open room');
});

it("starts the connection's thread again if it ended, and the transaction it held is gone", async () => {
  const db = new PostgresDatabase(testDatabaseUrl(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-pg-thread-')))!);
  try {
    db.exec('BEGIN IMMEDIATE');
    db.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('probe', 'x', 'now')").run();
    expect(db.isTransaction).toBe(true);
    await (db as unknown as { worker: Worker }).worker.terminate();
    expect(db.prepare("SELECT COUNT(*) AS n FROM settings WHERE key = 'probe'").get()).toEqual({ n: 0 });
    expect(db.isTransaction).toBe(false);
  } finally {
    db.close();
  }
});
