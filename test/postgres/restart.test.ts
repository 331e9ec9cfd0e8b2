// A studio on PostgreSQL outlives a restart of the database server: what it had stored is
// there afterwards, and the next statements connect again. The studio has a cluster of its
// own here, so that the restart touches no other test's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { UpdateWriter } from '../../server/collab/update-writer.ts';
import { listenToPostgres } from '../../server/db/postgres/listener.ts';
import { PostgresDatabase } from '../../server/db/postgres/postgres-database.ts';
import { startPostgresForStudios, testDatabaseUrl, type PostgresCluster } from '../helpers/postgres.ts';
import { createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio | undefined;
let cluster: PostgresCluster | undefined;
let writer: UpdateWriter | undefined;
let stopListening: (() => Promise<void>) | undefined;
afterAll(async () => {
  await stopListening?.();
  await writer?.close();
  await studio?.close();
  cluster?.stop();
});

it('keeps serving across a restart of PostgreSQL, with nothing stored lost', { timeout: 180_000 }, async () => {
  cluster = startPostgresForStudios();
  const url = cluster.url('simstudio_template');
  studio = await startTestStudio({ databaseUrl: url });
  const before = createSession(studio);
  // The collaboration log's writer thread has a connection of its own.
  writer = new UpdateWriter({ engine: 'postgres', url });
  const update = new Uint8Array([1, 2, 3]);
  // A listener for notifications from other processes (server/db/postgres/listener.ts).
  const heard: string[] = [];
  let resyncs = 0;
  stopListening = listenToPostgres({ url, channel: 'restart_probe', onNotify: (p) => heard.push(p), resync: () => resyncs++, log: pino({ level: 'silent' }) });
  const notify = (payload: string) => studio!.db.prepare("SELECT pg_notify('restart_probe', ?)").get(payload);
  await expect.poll(() => (notify('before'), heard.includes('before')), { timeout: 10_000 }).toBe(true);
  await writer.write([{ doc: 'before-restart', update }]);
  cluster.restart();
  // The connection the studio held is gone; the next statements open a new one.
  await expect.poll(async () => (await fetch(`${studio!.baseUrl}/api/health`)).status, { timeout: 60_000 }).toBe(200);
  const after = createSession(studio);
  expect(studio.sessions.getSession(before.sessionId)?.title).toBe('Open room');
  expect(studio.sessions.getSession(after.sessionId)?.title).toBe('Open room');
  // The writer's connection was lost too: an append fails at most once, then it connects again.
  const appended = await writer.write([{ doc: 'after-restart', update }]).then(
    () => true,
    () => false,
  );
  if (!appended) await writer.write([{ doc: 'after-restart', update }]);
  const docs = studio.db.prepare("SELECT doc FROM collab_updates WHERE doc LIKE '%-restart' ORDER BY id").all() as Array<{ doc: string }>;
  expect(docs.map((d) => d.doc)).toEqual(['before-restart', 'after-restart']);
  // The listener connected again, said so (what was notified meanwhile is lost), and hears again.
  await expect.poll(() => resyncs, { timeout: 20_000 }).toBe(1);
  notify('after');
  await expect.poll(() => heard.includes('after'), { timeout: 10_000 }).toBe(true);
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
