// The rubric's moderation lock holds across studio nodes: a session's documents live on the node
// holding it, but moderation may begin (or sign-off happen) through another node, behind the
// balancer's round robin. The node holding the documents read the status once and kept it for
// good, so its observers could go on changing ratings after moderation had begun elsewhere. It
// now trusts what it read for at most STATUS_TRUSTED_MS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLOSE_CODES, sheetDocName } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { ratingKey } from '../../shared/rubric.ts';
import { ModerationRepo, STATUS_TRUSTED_MS } from '../../server/moderation/moderation-repo.ts';
import { RawCollabClient, collabUrl } from '../helpers/collab-client.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';
import { createSession, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
const clients: RawCollabClient[] = [];
beforeAll(async () => {
  studio = await startTestStudio();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await studio.close();
});

it('moderation begun through another node closes the ratings here within a second', async () => {
  const { sessionId, participants } = createSession(studio);
  const observer = participants.find((p: Participant) => p.role === 'observer')!;
  const doc = sheetDocName(sessionId, observer.id, 1);
  const writer = new RawCollabClient(collabUrl(studio.baseUrl, doc, observer.id), { cookie: await signIn(studio, observer) });
  clients.push(writer);
  await writer.synced;
  // An edit before moderation: accepted (and the status 'not in moderation' read and kept here).
  writer.ydoc.getMap('ratings').set(ratingKey(observer.id, 1, 'kss-1'), 3);
  await expect.poll(() => writer.serverView.getMap('ratings').get(ratingKey(observer.id, 1, 'kss-1'))).toBe(3);

  // Another node, with its own connection to the same database, begins moderation.
  const otherNode = connectToStudioDatabase(studio.dataDir);
  try {
    expect(new ModerationRepo(otherNode).startModeration(sessionId, new Date().toISOString())).toBe(true);
  } finally {
    (otherNode as { close(): void }).close();
  }
  const begunAt = Date.now();
  // Past the trust window, an edit on this node is refused as moderation's.
  await new Promise((resolve) => setTimeout(resolve, STATUS_TRUSTED_MS + 100));
  writer.ydoc.getMap('ratings').set(ratingKey(observer.id, 1, 'kss-2'), 2);
  const closed = await Promise.race([writer.closed, new Promise<{ code: number; reason: string }>((resolve) => setTimeout(() => resolve({ code: -1, reason: 'accepted: still open after 10 s' }), 10_000))]);
  expect(closed.code).toBe(CLOSE_CODES.Forbidden);
  expect(closed.reason).toMatch(/moderation has begun/);
  expect(Date.now() - begunAt).toBeLessThan(10_000);
  // Nothing of it was stored.
  const reader = new RawCollabClient(collabUrl(studio.baseUrl, doc, observer.id), { cookie: await signIn(studio, observer) });
  clients.push(reader);
  await reader.synced;
  expect(reader.ydoc.getMap('ratings').has(ratingKey(observer.id, 1, 'kss-2'))).toBe(false);
  expect(reader.ydoc.getMap('ratings').get(ratingKey(observer.id, 1, 'kss-1'))).toBe(3);
});
